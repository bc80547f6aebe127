import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DurableRecorder } from "../../../functions/core/durable.ts";
import { canonicalJson } from "../../../functions/core/model.ts";
import { Recorder } from "../../../functions/core/recorder.ts";
import { eventMessageId, type RecorderEvent } from "../../../functions/core/recorder-events.ts";
import { fixture } from "../../helpers/fixtures.ts";
import { copyRequest, neteaseProvider } from "../../helpers/netease.ts";
import { CONTRACT_TARGETS, useTarget } from "../../helpers/store-targets.ts";
import { callbackRequest, tencentProvider } from "../../helpers/tencent.ts";

/**
 * Provider order, not arrival order (ARCHITECTURE.md "Storage rules"): the head shows the content of the
 * newest provider event by provider time; older events arriving late are kept as stale versions.
 */
const tencent = tencentProvider();
const netease = neteaseProvider();

const text = (value: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: value } }];
const T0 = 1_769_772_000_000;

function tencentEvent(name: string, patch: Record<string, unknown>): RecorderEvent {
  const [event] = tencent.interpret(callbackRequest({ ...fixture("tencent", name), ...patch }));
  if (!event) throw new Error(`${name} produced no event`);
  return event;
}

function copyEvent(patch: Record<string, unknown>, signedAt: number): RecorderEvent {
  const [event] = netease.interpret(
    copyRequest({ ...fixture("netease", "copy-p2p-text"), ...patch }, new Date(signedAt)),
  );
  if (!event) throw new Error("copy produced no event");
  return event;
}

describe.each(CONTRACT_TARGETS)("provider order on $name", (target) => {
  const { store } = useTarget(target);
  const recorder = () => new Recorder(store());
  const history = async (id: string) => (await store().listVersions(id, { limit: 100 })).items;

  it("keeps the newer client edit when two C2C after-modifies arrive out of order", async () => {
    const key = { MsgKey: `k_${randomUUID()}` };
    await recorder().apply(tencentEvent("c2c-after-send", { ...key, EventTime: T0 }));
    const older = tencentEvent("c2c-after-modify", { ...key, MsgBody: text("older"), EventTime: T0 + 1000 });
    const newer = tencentEvent("c2c-after-modify", { ...key, MsgBody: text("newer"), EventTime: T0 + 2000 });
    await recorder().apply(newer);
    await recorder().apply(older);
    const id = eventMessageId(newer);
    const head = await store().getHead(id);
    expect(head?.content?.MsgBody).toEqual(text("newer"));
    expect(head?.version).toBe(3);
    const versions = await history(id);
    expect(versions.map((v) => [v.version, v.source, v.stale ?? false])).toEqual([
      [1, "callback", false],
      [2, "client", false],
      [3, "client", true],
    ]);
    expect(versions[2]?.content.MsgBody).toEqual(text("older"));
  });

  it("orders group after-modifies by EventTime (a string EventTime too)", async () => {
    const group = { GroupId: `@TGS#${randomUUID()}`, MsgSeq: 53 };
    await recorder().apply(tencentEvent("group-after-send", { ...group, EventTime: T0 }));
    const newer = tencentEvent("group-after-modify", {
      ...group,
      MsgBody: text("b"),
      EventTime: `${T0 + 20}`,
    });
    const older = tencentEvent("group-after-modify", { ...group, MsgBody: text("a"), EventTime: T0 + 10 });
    await recorder().apply(newer);
    expect(await recorder().apply(older)).toBe("updated");
    const head = await store().getHead(eventMessageId(newer));
    expect(head?.content?.MsgBody).toEqual(text("b"));
    expect((await history(eventMessageId(newer))).filter((v) => v.stale)).toHaveLength(1);
  });

  it("keeps the order when replays from the fallback queue come late", async () => {
    const key = { MsgKey: `k_${randomUUID()}` };
    const sent = tencentEvent("c2c-after-send", { ...key, EventTime: T0 });
    const first = tencentEvent("c2c-after-modify", { ...key, MsgBody: text("first"), EventTime: T0 + 1 });
    const second = tencentEvent("c2c-after-modify", { ...key, MsgBody: text("second"), EventTime: T0 + 2 });
    const durable = new DurableRecorder(recorder(), { enqueue: async () => {} }, 1_000);
    await durable.record("tencent", new Date(), [sent]);
    await durable.record("tencent", new Date(), [second]);
    // The first edit was spooled while the store failed; it is replayed after the second was stored.
    await durable.replay({
      provider: "tencent",
      receivedAt: new Date().toISOString(),
      events: [first],
      reason: "x",
    });
    await durable.replay({
      provider: "tencent",
      receivedAt: new Date().toISOString(),
      events: [first],
      reason: "x",
    });
    const id = eventMessageId(sent);
    expect((await store().getHead(id))?.content?.MsgBody).toEqual(text("second"));
    expect((await history(id)).map((v) => v.stale ?? false)).toEqual([false, false, true]);
  });

  it("records an after-modify that arrived before its after-send, then fills sender, key and indexes", async () => {
    const group = { GroupId: `@TGS#${randomUUID()}`, MsgSeq: 77 };
    const modify = tencentEvent("group-after-modify", {
      ...group,
      MsgBody: text("edited"),
      EventTime: T0 + 5,
    });
    await recorder().apply(modify);
    const id = eventMessageId(modify);
    expect((await store().getHead(id))?.sender).toBeUndefined();
    await recorder().apply(tencentEvent("group-after-send", { ...group, EventTime: T0 }));
    const head = await store().getHead(id);
    expect(head).toMatchObject({
      sender: "jared",
      content: { MsgBody: text("edited") },
      createdAt: new Date(1490686222 * 1000).toISOString(),
    });
    expect(head?.key).toMatchObject({ random: "123456", msgTime: "1490686222", groupType: "Public" });
    // The original is history (older by provider time), recorded once whatever the redeliveries.
    await recorder().apply(tencentEvent("group-after-send", { ...group, EventTime: T0 }));
    const versions = await history(id);
    expect(versions.map((v) => [v.source, v.stale ?? false])).toEqual([
      ["client", false],
      ["callback", true],
    ]);
    const bySender = await store().list({
      provider: "tencent",
      appId: head?.appId ?? "",
      sender: "jared",
      limit: 100,
    });
    expect(bySender.items.map((item) => item.id)).toContain(id);
  });

  it("orders Yunxin copies by the time Yunxin signed them; a byte-identical redelivery is a duplicate", async () => {
    const copy = { msgidServer: String(Date.now()) + String(Math.floor(Math.random() * 1e6)) };
    const now = Date.now();
    const original = copyEvent({ ...copy, body: "hello" }, now - 3000);
    const editA = copyEvent({ ...copy, body: "edit A" }, now - 2000);
    const editB = copyEvent({ ...copy, body: "edit B" }, now - 1000);
    await recorder().apply(original);
    await recorder().apply(editB);
    expect(await recorder().apply(editA)).toBe("updated"); // late: kept, stale
    const id = eventMessageId(original);
    expect((await store().getHead(id))?.content?.text).toBe("edit B");
    // The first copy again, same bytes (Yunxin signs it anew): a duplicate, not an edit back.
    const redelivered = copyEvent({ ...copy, body: "hello" }, now);
    expect(await recorder().apply(redelivered)).toBe("duplicate");
    expect((await store().getHead(id))?.content?.text).toBe("edit B");
    expect((await history(id)).map((v) => [v.content.text, v.stale ?? false])).toEqual([
      ["hello", false],
      ["edit B", false],
      ["edit A", true],
    ]);
  });

  it("moves the head's provider time forward on an equal newer event, so a middle one arriving last stays stale", async () => {
    const key = { MsgKey: `k_${randomUUID()}` };
    await recorder().apply(tencentEvent("c2c-after-send", { ...key, EventTime: T0 }));
    const x1 = tencentEvent("c2c-after-modify", { ...key, MsgBody: text("x"), EventTime: T0 + 1 });
    const y2 = tencentEvent("c2c-after-modify", { ...key, MsgBody: text("y"), EventTime: T0 + 2 });
    const x3 = tencentEvent("c2c-after-modify", { ...key, MsgBody: text("x"), EventTime: T0 + 3 });
    await recorder().apply(x1);
    expect(await recorder().apply(x3)).toBe("duplicate");
    await recorder().apply(y2);
    expect((await store().getHead(eventMessageId(x1)))?.content?.MsgBody).toEqual(text("x"));
  });

  it("converges on the newest provider event whatever the interleaving and repetition of callbacks", async () => {
    // One message's callbacks: before-send, after-send, client edits and an edit by the admin account
    // without an open intent (someone else's edit), each with its provider time, and a recall.
    const kinds = ["before", "sent", "edit1", "edit2", "edit3", "admin", "recall"] as const;
    type Kind = (typeof kinds)[number];
    const build = (key: { MsgKey: string }, times: Record<Kind, number>): Record<Kind, RecorderEvent> => ({
      before: tencentEvent("c2c-before-send", { ...key, EventTime: times.before }),
      sent: tencentEvent("c2c-after-send", { ...key, EventTime: times.sent }),
      edit1: tencentEvent("c2c-after-modify", { ...key, MsgBody: text("one"), EventTime: times.edit1 }),
      edit2: tencentEvent("c2c-after-modify", { ...key, MsgBody: text("two"), EventTime: times.edit2 }),
      // Same content as edit1, later: the head must still end on it if it is the newest.
      edit3: tencentEvent("c2c-after-modify", { ...key, MsgBody: text("one"), EventTime: times.edit3 }),
      admin: tencentEvent("c2c-after-modify", {
        ...key,
        Operator_Account: "administrator",
        MsgBody: text("admin"),
        EventTime: times.admin,
      }),
      recall: tencentEvent("c2c-after-withdraw", { ...key, EventTime: times.recall }),
    });
    const contentEvents = ["sent", "edit1", "edit2", "edit3", "admin"] as const;
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...kinds), { minLength: 1, maxLength: 12 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 50 }), { minLength: 7, maxLength: 7 }),
        fc.boolean(),
        async (sequence, offsets, concurrent) => {
          tried++;
          const times = Object.fromEntries(kinds.map((kind, i) => [kind, T0 + (offsets[i] ?? 0)])) as Record<
            Kind,
            number
          >;
          // The send comes first at the provider: every edit is later than it.
          times.before = T0 - 2;
          times.sent = T0 - 1;
          const events = build({ MsgKey: `k_${randomUUID()}` }, times);
          const apply = (kind: Kind) => recorder().apply(events[kind]);
          if (concurrent) await Promise.all(sequence.map(apply));
          else for (const kind of sequence) await apply(kind);

          const id = eventMessageId(events.sent);
          const head = await store().getHead(id);
          const versions = (await store().listVersions(id, { limit: 100 })).items;
          const delivered = contentEvents.filter((kind) => sequence.includes(kind));
          const newest = delivered.sort((a, b) => times[b] - times[a])[0];
          const recalled = sequence.includes("recall");
          if (newest === undefined) {
            expect(head?.state ?? "none").toBe(
              recalled ? "recalled" : sequence.length > 0 ? "pending" : "none",
            );
            expect(versions).toHaveLength(0);
            return;
          }
          const expected = events[newest];
          if (!("content" in expected)) throw new Error("content event expected");
          expect(canonicalJson(head?.content?.MsgBody)).toBe(canonicalJson(expected.content.MsgBody));
          expect(head?.state).toBe(recalled ? "recalled" : "sent");
          expect(head?.version).toBe(versions.length);
          // No event recorded twice; numbers 1..n, each written once.
          const keys = versions.map((v) => v.eventKey);
          expect(new Set(keys).size).toBe(keys.length);
          expect(versions.map((v) => v.version)).toEqual(versions.map((_, i) => i + 1));
          // The head's content is the newest version that is not stale.
          const shown = versions.filter((v) => !v.stale).at(-1);
          expect(shown?.contentHash).toBe(head?.contentHash);
        },
      ),
      { numRuns: 60, seed: 1313 },
    );
    console.info(`recorder ordering property (${target.name}): ${tried} interleavings, seed 1313`);
  });
});
