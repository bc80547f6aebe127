import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type Content, contentHash, type RewriteStep } from "../../../functions/core/model.ts";
import { MessageQueries } from "../../../functions/core/queries.ts";
import { Recorder } from "../../../functions/core/recorder.ts";
import { eventMessageId, type RecorderEvent } from "../../../functions/core/recorder-events.ts";
import { fixture } from "../../helpers/fixtures.ts";
import { CONTRACT_TARGETS, useTarget } from "../../helpers/store-targets.ts";
import { callbackRequest, tencentProvider } from "../../helpers/tencent.ts";

const provider = tencentProvider();
const text = (value: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: value } }];

/** A documented payload with this patch; custom data only when the patch gives it. */
function one(name: string, patch: Record<string, unknown>): RecorderEvent {
  const body = { ...fixture("tencent", name), CloudCustomData: undefined, ...patch };
  const [event] = provider.interpret(callbackRequest(body));
  if (!event) throw new Error(`${name} produced no event`);
  return event;
}

const step = (content: Content, ruleId: string): RewriteStep => ({
  content,
  source: "auto",
  ruleId,
  by: "rules",
});

/** A before-send the rules rewrote (as the decide stage leaves it for the recorder). */
function rewritten(name: string, patch: Record<string, unknown>, steps: RewriteStep[]): RecorderEvent {
  const pending = one(name, patch);
  if (pending.type !== "pending") throw new Error("not a before-send");
  const last = steps.at(-1);
  if (!last) throw new Error("no steps");
  return {
    ...pending,
    rewrite: { content: last.content, by: ["rules"], ...(last.ruleId ? { ruleId: last.ruleId } : {}), steps },
  };
}

const TYPED = { MsgBody: text("call me 13812345678") };
const REDACTED = { MsgBody: text("call me ***") };
const MARKED = { ...REDACTED, CloudCustomData: '{"redacted":true}' };

describe.each(CONTRACT_TARGETS)("Recorder: before-send rewrites become history, on $name", (target) => {
  const { store } = useTarget(target);
  const recorder = () => new Recorder(store());
  const history = async (id: string) =>
    (await store().listVersions(id, { limit: 50 })).items.map((v) => ({
      version: v.version,
      source: v.source,
      ...(v.ruleId !== undefined ? { ruleId: v.ruleId } : {}),
      content: v.content,
    }));

  it("C2C: version 1 is what the sender typed, version 2 the rule's rewrite (auto + ruleId); the head shows what was delivered", async () => {
    const patch = { MsgKey: `k_${randomUUID()}` };
    await recorder().apply(
      rewritten("c2c-before-send", { ...patch, ...TYPED }, [step(REDACTED, "redact-phone")]),
    );
    const sent = one("c2c-after-send", { ...patch, ...REDACTED });
    const id = eventMessageId(sent);

    const applied = await recorder().record(sent);

    expect(applied.outcome).toBe("updated");
    expect(applied.versions?.map((v) => [v.version, v.source, v.ruleId])).toEqual([
      [1, "callback", undefined],
      [2, "auto", "redact-phone"],
    ]);
    expect(applied.version?.version).toBe(2);
    expect(await history(id)).toEqual([
      { version: 1, source: "callback", content: TYPED },
      { version: 2, source: "auto", ruleId: "redact-phone", content: REDACTED },
    ]);
    const head = await store().getHead(id);
    expect(head).toMatchObject({
      state: "sent",
      version: 2,
      content: REDACTED,
      contentHash: contentHash(REDACTED),
    });
    expect(head?.rewrite).toBeUndefined();
    expect((await store().getVersion(id, 2))?.actor).toBe("rule:redact-phone");
  });

  it("one version per rule, in order; a provider that delivered something else again adds its content last (callback)", async () => {
    const patch = { MsgKey: `k_${randomUUID()}` };
    await recorder().apply(
      rewritten("c2c-before-send", { ...patch, ...TYPED }, [
        step(REDACTED, "redact-phone"),
        step(MARKED, "mark"),
      ]),
    );
    const delivered = { ...MARKED, MsgBody: text("call me *** (moderated)") };
    const sent = one("c2c-after-send", { ...patch, ...delivered });

    await recorder().apply(sent);

    const id = eventMessageId(sent);
    expect((await history(id)).map((v) => [v.version, v.source, v.ruleId])).toEqual([
      [1, "callback", undefined],
      [2, "auto", "redact-phone"],
      [3, "auto", "mark"],
      [4, "callback", undefined],
    ]);
    expect(await store().getHead(id)).toMatchObject({ version: 4, content: delivered });
  });

  it("the same after-send again, or 20 times at once, adds no version", async () => {
    const patch = { MsgKey: `k_${randomUUID()}` };
    await recorder().apply(
      rewritten("c2c-before-send", { ...patch, ...TYPED }, [step(REDACTED, "redact-phone")]),
    );
    const sent = one("c2c-after-send", { ...patch, ...REDACTED });

    const outcomes = await Promise.all(Array.from({ length: 20 }, () => recorder().apply(sent)));
    const again = await recorder().apply(sent);

    expect(outcomes.filter((o) => o === "updated")).toHaveLength(1);
    expect(again).toBe("duplicate");
    expect(await history(eventMessageId(sent))).toHaveLength(2);
    expect(await store().getHead(eventMessageId(sent))).toMatchObject({ version: 2, content: REDACTED });
  });

  it("finishes what a crashed delivery started (the step's version written, the head still pending), without doubling it", async () => {
    const patch = { MsgKey: `k_${randomUUID()}` };
    await recorder().apply(
      rewritten("c2c-before-send", { ...patch, ...TYPED }, [step(REDACTED, "redact-phone")]),
    );
    const sent = one("c2c-after-send", { ...patch, ...REDACTED });
    const id = eventMessageId(sent);
    await store().putVersion(id, {
      version: 2,
      content: REDACTED,
      contentHash: contentHash(REDACTED),
      source: "auto",
      ruleId: "redact-phone",
      actor: "rule:redact-phone",
      at: "2026-01-01T00:00:00.000Z",
    });

    await recorder().apply(sent);

    expect((await history(id)).map((v) => v.version)).toEqual([1, 2]);
    expect(await store().getHead(id)).toMatchObject({ state: "sent", version: 2, content: REDACTED });
  });

  it("group: the provisional record's rewrite becomes the real message's history, and the provisional id leads to it", async () => {
    const patch = { GroupId: `@TGS#${randomUUID()}` };
    const before = rewritten("group-before-send", { ...patch, ...TYPED }, [step(REDACTED, "redact-phone")]);
    await recorder().apply(before);
    const after = one("synthetic-group-after-send-topic", { ...patch, ...REDACTED });

    expect(await recorder().apply(after)).toBe("created");
    expect(await recorder().apply(after)).toBe("duplicate");

    const id = eventMessageId(after);
    expect((await history(id)).map((v) => [v.version, v.source, v.ruleId, v.content])).toEqual([
      [1, "callback", undefined, TYPED],
      [2, "auto", "redact-phone", REDACTED],
    ]);
    const queries = new MessageQueries(store(), new Map([["tencent", provider]]));
    expect(await queries.get(eventMessageId(before))).toMatchObject({ id, version: 2, content: REDACTED });
  });

  it("a late after-send (an edit of the message arrived first) keeps every version and the newer content shown", async () => {
    const patch = { MsgKey: `k_${randomUUID()}` };
    await recorder().apply(
      rewritten("c2c-before-send", { ...patch, ...TYPED }, [step(REDACTED, "redact-phone")]),
    );
    const sent = one("c2c-after-send", { ...patch, ...REDACTED });
    const id = eventMessageId(sent);
    const edited = { MsgBody: text("edited later") };
    await recorder().apply(one("c2c-after-modify", { ...patch, ...edited, EventTime: Date.now() + 60_000 }));

    await recorder().apply(sent);
    await recorder().apply(sent);

    const head = await store().getHead(id);
    expect(head).toMatchObject({ state: "sent", content: edited });
    const versions = await history(id);
    expect(versions.map((v) => v.content)).toContainEqual(edited);
    expect(versions.map((v) => v.content)).toContainEqual(REDACTED);
    expect(versions).toHaveLength(2);
  });
});
