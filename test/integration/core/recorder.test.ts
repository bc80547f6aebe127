import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MessageQueries } from "../../../functions/core/queries.ts";
import { Recorder } from "../../../functions/core/recorder.ts";
import { eventMessageId, type RecorderEvent } from "../../../functions/core/recorder-events.ts";
import { fixture } from "../../helpers/fixtures.ts";
import { CONTRACT_TARGETS, useTarget } from "../../helpers/store-targets.ts";
import { callbackRequest, tencentProvider } from "../../helpers/tencent.ts";

const provider = tencentProvider();

/** Events of a documented payload, with a fresh MsgKey/GroupId so tests never share messages. */
function events(name: string, patch: Record<string, unknown> = {}): RecorderEvent[] {
  return provider.interpret(callbackRequest({ ...fixture("tencent", name), ...patch }));
}
const one = (name: string, patch: Record<string, unknown> = {}): RecorderEvent => {
  const [event] = events(name, patch);
  if (!event) throw new Error(`${name} produced no event`);
  return event;
};
const fresh = () => ({ MsgKey: `k_${randomUUID()}` });
const messageOf = (event: RecorderEvent) => {
  if (!("message" in event) || !event.message) throw new Error("event carries no message");
  return event.message;
};
const text = (value: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: value } }];

describe.each(CONTRACT_TARGETS)("Recorder on $name", (target) => {
  const { store } = useTarget(target);
  const recorder = () => new Recorder(store());

  it("records an after-send as version 1 from the callback", async () => {
    // Prepare
    const sent = one("c2c-after-send", fresh());
    // Act
    const outcome = await recorder().apply(sent);
    // Assess
    const head = await store().getHead(eventMessageId(sent));
    const versions = await store().listVersions(eventMessageId(sent), { limit: 20 });
    expect(outcome).toBe("created");
    expect(head).toMatchObject({
      state: "sent",
      version: 1,
      sender: "jared",
      content: { MsgBody: text("red packet") },
    });
    expect(versions.items).toEqual([
      expect.objectContaining({ version: 1, source: "callback", actor: "jared" }),
    ]);
  });

  it("turns a pending before-send into one sent version", async () => {
    const patch = fresh();
    await recorder().apply(one("c2c-before-send", patch));
    expect((await store().getHead(eventMessageId(one("c2c-before-send", patch))))?.state).toBe("pending");
    await recorder().apply(one("c2c-after-send", patch));
    const id = eventMessageId(one("c2c-after-send", patch));
    expect(await store().getHead(id)).toMatchObject({ state: "sent", version: 1 });
    expect((await store().listVersions(id, { limit: 20 })).items).toHaveLength(1);
  });

  it("leaves one record and one version when the same callback arrives 20 times at once", async () => {
    const sent = one("c2c-after-send", fresh());
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => recorder().apply(sent)));
    expect(outcomes.filter((o) => o === "created")).toHaveLength(1);
    expect((await store().listVersions(eventMessageId(sent), { limit: 50 })).items).toHaveLength(1);
    expect(await store().getHead(eventMessageId(sent))).toMatchObject({ version: 1, state: "sent", rev: 1 });
  });

  it("keeps a recall sticky against a late after-send, which still fills in the content", async () => {
    const patch = fresh();
    await recorder().apply(one("c2c-after-withdraw", patch));
    await recorder().apply(one("c2c-after-send", patch));
    const head = await store().getHead(eventMessageId(one("c2c-after-send", patch)));
    expect(head).toMatchObject({ state: "recalled", version: 1, content: { MsgBody: text("red packet") } });
    expect(head?.key).toMatchObject({ msgSeq: "48374", msgId: "144115233406643804-1727580296-4026038328" });
  });

  it("keeps failed sticky, with the send error", async () => {
    const patch = fresh();
    await recorder().apply(one("synthetic-c2c-after-send-failed", patch));
    await recorder().apply(one("c2c-after-withdraw", patch));
    const head = await store().getHead(eventMessageId(one("c2c-after-withdraw", patch)));
    expect(head).toMatchObject({ state: "failed", sendError: { code: 80001 } });
  });

  it("appends a client version on after-modify, once, keeping fields the callback left out", async () => {
    const patch = { GroupId: `@TGS#${randomUUID()}` };
    await recorder().apply(one("group-after-send", { ...patch, MsgSeq: 53 }));
    const modify = one("group-after-modify", patch);
    expect(await recorder().apply(modify)).toBe("updated");
    expect(await recorder().apply(modify)).toBe("duplicate");
    const versions = await store().listVersions(eventMessageId(modify), { limit: 20 });
    expect(versions.items.map((v) => [v.version, v.source, v.actor])).toEqual([
      [1, "callback", "jared"],
      [2, "client", "oper-user"],
    ]);
    expect(versions.items[1]?.content).toEqual({
      MsgBody: text("2026-03-06T02:09:35.302Z"),
      CloudCustomData: "your cloud custom data",
    });
    expect(await store().getHead(eventMessageId(modify))).toMatchObject({ version: 2, state: "sent" });
  });

  it("records an after-modify of a message it never saw as a client version 1", async () => {
    const modify = one("c2c-after-modify", fresh());
    await recorder().apply(modify);
    expect(await store().getHead(eventMessageId(modify))).toMatchObject({ version: 1, state: "sent" });
    expect((await store().listVersions(eventMessageId(modify), { limit: 20 })).items[0]?.source).toBe(
      "client",
    );
  });

  it("serializes concurrent different after-modifies into consecutive versions, the newest shown", async () => {
    const patch = fresh();
    await recorder().apply(one("c2c-after-send", patch));
    await Promise.all(
      ["a", "b", "c", "d"].map((value, i) =>
        recorder().apply(
          one("c2c-after-modify", { ...patch, MsgBody: text(value), EventTime: 1769772027036 + i }),
        ),
      ),
    );
    const id = eventMessageId(one("c2c-after-send", patch));
    const versions = await store().listVersions(id, { limit: 20 });
    expect(versions.items.map((v) => v.version)).toEqual([1, 2, 3, 4, 5]);
    const head = await store().getHead(id);
    expect(head?.version).toBe(5);
    // Provider order: "d" has the newest EventTime, whichever arrived last.
    expect(head?.content?.MsgBody).toEqual(text("d"));
  });

  it("repairs a head that lags behind its versions (a crash between the two writes)", async () => {
    const patch = fresh();
    const sent = one("c2c-after-send", patch);
    await recorder().apply(sent);
    const orphan = {
      version: 2,
      content: { MsgBody: text("orphan") },
      contentHash: "h",
      source: "client" as const,
      at: "2026-01-01T00:00:00.000Z",
    };
    await store().putVersion(eventMessageId(sent), orphan);
    await recorder().apply(one("c2c-after-modify", { ...patch, MsgBody: text("next") }));
    const head = await store().getHead(eventMessageId(sent));
    expect(head).toMatchObject({ version: 3, content: { MsgBody: text("next") } });
  });

  it("completes a provisional group message and answers its id with the real one", async () => {
    const patch = { GroupId: `@TGS#${randomUUID()}` };
    const before = one("group-before-send", patch);
    await recorder().apply(before);
    const after = one("synthetic-group-after-send-topic", patch);
    await recorder().apply(after);
    const queries = new MessageQueries(store(), new Map([["tencent", provider]]));
    expect(await queries.get(eventMessageId(before))).toMatchObject({
      id: eventMessageId(after),
      state: "sent",
      version: 1,
    });
    expect((await store().getHead(eventMessageId(before)))?.resolvedId).toBe(eventMessageId(after));
  });

  it("records a group send exception as failed and never editable", async () => {
    const patch = { GroupId: `@TGS#${randomUUID()}` };
    await recorder().apply(one("group-before-send", patch));
    const failed = one("synthetic-group-send-exception", patch);
    await recorder().apply(failed);
    expect(await store().getHead(eventMessageId(failed))).toMatchObject({
      state: "failed",
      sendError: { code: 10016 },
    });
  });

  it("leaves no pending ghost when a group after-send is stored before its (spooled) before-send", async () => {
    const patch = { GroupId: `@TGS#${randomUUID()}` };
    const after = one("synthetic-group-after-send-topic", patch);
    const before = one("group-before-send", patch);
    await recorder().apply(after);
    await recorder().apply(before);
    const provisional = await store().getHead(eventMessageId(before));
    expect(provisional).toMatchObject({ state: "sent", resolvedId: eventMessageId(after) });
  });

  it("takes a provider copy whole; the same copy again is a duplicate, even after an edit", async () => {
    const message = {
      ...messageOf(one("c2c-after-send", fresh())),
      provider: "netease" as const,
      kind: "p2p" as const,
    };
    const at = Date.now();
    const copy = (content: Record<string, unknown>, eventAt: number) => ({
      type: "observed" as const,
      message,
      content,
      at: new Date(eventAt).toISOString(),
      eventAt,
      eventKey: `bytes-of-${JSON.stringify(content)}`,
    });
    await recorder().apply(copy({ text: "A", extension: "e" }, at));
    expect(await recorder().apply(copy({ text: "A", extension: "e" }, at + 1))).toBe("duplicate");
    expect(await recorder().apply(copy({ text: "B" }, at + 2))).toBe("updated");
    expect((await store().getHead(message.id))?.content).toEqual({ text: "B" });
    // A byte-identical redelivery of the first copy is not an edit back (ARCHITECTURE.md).
    expect(await recorder().apply(copy({ text: "A", extension: "e" }, at + 3))).toBe("duplicate");
    expect((await store().getHead(message.id))?.content).toEqual({ text: "B" });
  });

  it("converges to the same record whatever the order and repetition of callbacks", async () => {
    const kinds = ["c2c-before-send", "c2c-after-send", "c2c-after-withdraw"] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...kinds), { minLength: 1, maxLength: 6 }),
        async (sequence) => {
          const patch = fresh();
          for (const name of sequence) await recorder().apply(one(name, patch));
          const id = eventMessageId(one("c2c-after-send", patch));
          const head = await store().getHead(id);
          const versions = await store().listVersions(id, { limit: 20 });
          const sent = sequence.includes("c2c-after-send");
          const recalled = sequence.includes("c2c-after-withdraw");
          expect(head?.state).toBe(recalled ? "recalled" : sent ? "sent" : "pending");
          expect(head?.version).toBe(sent ? 1 : 0);
          expect(versions.items).toHaveLength(sent ? 1 : 0);
        },
      ),
      { numRuns: 25 },
    );
  });
});
