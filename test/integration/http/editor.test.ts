import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { invoke } from "../../../functions/editor.ts";
import type { TencentSimulator } from "../../../local/simulators/tencent/api.ts";
import type { LocalStack } from "../../../local/stack.ts";
import { send } from "../../helpers/http.ts";
import { api, postTencent, startTestStack } from "../../helpers/stack.ts";
import { APP_ID } from "../../helpers/tencent.ts";
import { tencentApp } from "../../helpers/tencent-app.ts";

const text = (value: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: value } }];

interface RecordBody {
  id: string;
  version: number;
  state: string;
  content: { MsgBody?: unknown; CloudCustomData?: string };
}
interface VersionBody {
  version: number;
  source: string;
  actor?: string;
  content: unknown;
  restorable: boolean;
  purged?: unknown;
}

describe("editor over HTTP against the Tencent simulator", () => {
  let stack: LocalStack;
  let sim: TencentSimulator;
  let app: ReturnType<typeof tencentApp>;

  beforeAll(async () => {
    stack = await startTestStack({ tencentSimulator: true, env: { TENCENT_RECORD_AVCHATROOM: "true" } });
    if (!stack.tencent) throw new Error("no simulator");
    sim = stack.tencent;
    app = tencentApp(stack);
  });
  afterAll(async () => {
    await stack.close();
  });

  /** A C2C message sent through the simulator and recorded from its callback; returns its record. */
  async function sentMessage(initial = "hello", cloudCustomData?: string) {
    const from = `u-${randomUUID().slice(0, 8)}`;
    const to = `v-${randomUUID().slice(0, 8)}`;
    const msgKey = await app.sendC2C(from, to, initial, cloudCustomData);
    const found = await api(stack.url, `/v1/messages?provider=tencent&appId=${APP_ID}&msgKey=${msgKey}`);
    expect(found.status).toBe(200);
    return { from, to, msgKey, record: found.body as RecordBody };
  }

  const versions = async (id: string) =>
    ((await api(stack.url, `/v1/messages/${id}/versions`)).body as { items: VersionBody[] }).items;
  const providerContent = (m: { from: string; to: string; msgKey: string }) => {
    const stored = sim.c2cMessage(m.from, m.to, m.msgKey);
    return { MsgBody: stored?.MsgBody, CloudCustomData: stored?.CloudCustomData };
  };

  it("edits the text, keeps the rest, and records exactly one new version (the early echo adds none)", async () => {
    // Prepare
    const message = await sentMessage("hello", "meta");
    // Act
    const edited = await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, {
      text: "hello, edited",
    });
    // Assess
    expect(edited.status).toBe(200);
    expect(edited.headers.etag).toBe('"2"');
    expect(edited.body).toMatchObject({
      version: 2,
      content: { MsgBody: text("hello, edited"), CloudCustomData: "meta" },
    });
    expect(providerContent(message)).toEqual({ MsgBody: text("hello, edited"), CloudCustomData: "meta" });
    const history = await versions(message.record.id);
    expect(history.map((v) => [v.version, v.source])).toEqual([
      [1, "callback"],
      [2, "api"],
    ]);
  });

  it("changes CloudCustomData alone and edits by natural key", async () => {
    const message = await sentMessage();
    const query = `provider=tencent&appId=${APP_ID}&msgKey=${message.msgKey}&from=${message.from}&to=${message.to}`;
    const edited = await send(stack.url, "PATCH", `/v1/messages?${query}`, { CloudCustomData: "flagged" });
    expect(edited.body).toMatchObject({
      version: 2,
      content: { MsgBody: text("hello"), CloudCustomData: "flagged" },
    });
    expect(providerContent(message).CloudCustomData).toBe("flagged");
  });

  it("answers 412 for a stale If-Match before calling the provider", async () => {
    const message = await sentMessage();
    const calls = sim.stats.calls.modify_c2c_msg ?? 0;
    const stale = await send(
      stack.url,
      "PATCH",
      `/v1/messages/${message.record.id}`,
      { text: "x" },
      { "if-match": '"7"' },
    );
    expect(stale.status).toBe(412);
    expect(sim.stats.calls.modify_c2c_msg ?? 0).toBe(calls);
    const fresh = await send(
      stack.url,
      "PATCH",
      `/v1/messages/${message.record.id}`,
      { text: "x" },
      { "if-match": "1" },
    );
    expect(fresh.status).toBe(200);
  });

  it("replays an Idempotency-Key without a second call, and refuses it for another body", async () => {
    const message = await sentMessage();
    const key = { "idempotency-key": randomUUID() };
    const first = await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, { text: "once" }, key);
    const calls = sim.stats.calls.modify_c2c_msg ?? 0;
    const again = await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, { text: "once" }, key);
    const other = await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, { text: "twice" }, key);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(sim.stats.calls.modify_c2c_msg ?? 0).toBe(calls);
    expect(other.status).toBe(422);
    expect(await versions(message.record.id)).toHaveLength(2);
  });

  it("restores an earlier version by sending every field back", async () => {
    const message = await sentMessage("original");
    await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, {
      text: "changed",
      CloudCustomData: "c",
    });
    const restored = await send(stack.url, "POST", `/v1/messages/${message.record.id}/restore`, {
      version: 1,
    });
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({
      version: 3,
      content: { MsgBody: text("original"), CloudCustomData: "" },
    });
    expect(providerContent(message)).toEqual({ MsgBody: text("original"), CloudCustomData: "" });
    expect((await versions(message.record.id)).map((v) => v.source)).toEqual(["callback", "api", "restore"]);
    expect(
      (await send(stack.url, "POST", `/v1/messages/${message.record.id}/restore`, { version: 9 })).status,
    ).toBe(404);
  });

  it("serializes concurrent edits: never two against the same base, history equals the provider", async () => {
    const message = await sentMessage();
    const replies = await Promise.all(
      ["a", "b", "c", "d", "e"].map((value) =>
        send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, { text: value }),
      ),
    );
    const ok = replies.filter((r) => r.status === 200);
    expect(replies.every((r) => r.status === 200 || r.status === 409)).toBe(true);
    const history = await versions(message.record.id);
    expect(history.map((v) => v.version)).toEqual(Array.from({ length: ok.length + 1 }, (_, i) => i + 1));
    expect(new Set(ok.map((r) => (r.body as RecordBody).version)).size).toBe(ok.length);
    const head = (await api(stack.url, `/v1/messages/${message.record.id}`)).body as RecordBody;
    expect(head.content.MsgBody).toEqual(providerContent(message).MsgBody);
    expect(history.at(-1)?.content).toEqual(head.content);
  });

  it("retries definite refusals and reports terminal ones with the provider's code", async () => {
    const message = await sentMessage();
    // 20028 (concurrent modification conflict) and 60007 (frequency) say nothing was done: sent again.
    sim.inject({ api: "modify_c2c_msg", kind: "error", code: 20028 });
    sim.inject({ api: "modify_c2c_msg", kind: "error", code: 60007 });
    expect(
      (await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, { text: "after retries" })).status,
    ).toBe(200);
    sim.inject({ api: "modify_c2c_msg", kind: "error", code: 80001 });
    const refused = await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, {
      text: "bad words",
    });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ error: { providerCode: 80001 } });
    expect(await versions(message.record.id)).toHaveLength(2);
  });

  // Issue 13 defect 3: an answer that does not say whether the modify was applied is an unknown
  // outcome, settled by the echo or a read-back; never sent again, never "nothing applied" unproven.
  describe("ambiguous answers to a modify (60008, 70500, 91000...)", () => {
    const modifyCalls = () => sim.stats.calls.modify_c2c_msg ?? 0;

    it("applied but answered 60008, echoed: the edit is applied, one version, no resend", async () => {
      const message = await sentMessage();
      const calls = modifyCalls();
      sim.inject({ api: "modify_c2c_msg", kind: "error-after-apply", code: 60008, info: "service timeout" });
      const edited = await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, {
        text: "applied despite 60008",
      });
      expect(edited.status).toBe(200);
      expect(edited.body).toMatchObject({ version: 2, content: { MsgBody: text("applied despite 60008") } });
      expect(modifyCalls()).toBe(calls + 1);
      expect(providerContent(message).MsgBody).toEqual(text("applied despite 60008"));
      expect((await versions(message.record.id)).map((v) => [v.version, v.source])).toEqual([
        [1, "callback"],
        [2, "api"],
      ]);
    });

    it("applied silently but answered 70500: settled applied by a read-back, one version, no resend", async () => {
      const message = await sentMessage();
      const calls = modifyCalls();
      sim.inject({ api: "modify_c2c_msg", kind: "error-after-apply", code: 70500, silently: true });
      const edited = await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, {
        text: "quietly applied",
      });
      // Settled at once by the read-back (200), or later (504 then applied): never 503.
      expect([200, 504]).toContain(edited.status);
      expect(modifyCalls()).toBe(calls + 1);
      // The next edit waits for the settlement, so history is final once it is through.
      const next = await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, { text: "next" });
      expect(next.status).toBe(200);
      const history = await versions(message.record.id);
      expect(history.map((v) => [v.version, v.source, v.content])).toEqual([
        [1, "callback", { MsgBody: text("hello") }],
        [2, "api", { MsgBody: text("quietly applied") }],
        [3, "api", { MsgBody: text("next") }],
      ]);
    });

    it("not applied, answered 60008: settled not applied by a read-back, nothing recorded, no resend", async () => {
      const message = await sentMessage();
      const calls = modifyCalls();
      sim.inject({ api: "modify_c2c_msg", kind: "error", code: 60008, info: "service timeout" });
      const edited = await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, { text: "lost" });
      expect(modifyCalls()).toBe(calls + 1);
      expect(providerContent(message).MsgBody).toEqual(text("hello"));
      // 503 only with the read-back's evidence, never the retry loop's "nothing was applied".
      expect([503, 504]).toContain(edited.status);
      const said = JSON.stringify(edited.body);
      expect(said).not.toMatch(/kept failing|nothing was applied/);
      if (edited.status === 503) expect(said).toMatch(/did not apply/);
      expect(await versions(message.record.id)).toHaveLength(1);
      const next = await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, { text: "now" });
      expect(next.status).toBe(200);
      expect((await versions(message.record.id)).map((v) => v.content)).toEqual([
        { MsgBody: text("hello") },
        { MsgBody: text("now") },
      ]);
    });

    it("not applied, answered 91000, first read-back fails: 504 unknown, then settled not applied", async () => {
      const message = await sentMessage();
      const calls = modifyCalls();
      sim.inject({ api: "modify_c2c_msg", kind: "error", code: 91000 });
      sim.inject({ api: "admin_getroammsg", kind: "error", code: 90009 });
      const edited = await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, { text: "lost" });
      expect(edited.status).toBe(504);
      expect(edited.body).toMatchObject({ outcome: "unknown", error: { code: "outcome_unknown" } });
      // The next edit waits for the scheduled read-back, which finds the old content: not applied.
      const next = await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, { text: "now" });
      expect(next.status).toBe(200);
      expect(next.body).toMatchObject({ version: 2, content: { MsgBody: text("now") } });
      expect(modifyCalls()).toBe(calls + 2);
      expect((await versions(message.record.id)).map((v) => v.content)).toEqual([
        { MsgBody: text("hello") },
        { MsgBody: text("now") },
      ]);
    });

    it("a group modify applied silently and answered 91000 is settled by group_msg_get_simple", async () => {
      const groupId = `@TGS#${randomUUID().slice(0, 8)}`;
      sim.createGroup(groupId, "Public");
      const seq = await app.sendGroup(groupId, "member", "group hello");
      const query = `provider=tencent&appId=${APP_ID}&groupId=${encodeURIComponent(groupId)}&msgSeq=${seq}`;
      const record = (await api(stack.url, `/v1/messages?${query}`)).body as RecordBody;
      const calls = sim.stats.calls.modify_group_msg ?? 0;
      sim.inject({ api: "modify_group_msg", kind: "error-after-apply", code: 91000, silently: true });
      const edited = await send(stack.url, "PATCH", `/v1/messages/${record.id}`, { text: "group, quietly" });
      expect([200, 504]).toContain(edited.status);
      expect(sim.stats.calls.modify_group_msg).toBe(calls + 1);
      const next = await send(stack.url, "PATCH", `/v1/messages/${record.id}`, { text: "group next" });
      expect(next.status).toBe(200);
      expect((await versions(record.id)).map((v) => v.content)).toEqual([
        { MsgBody: text("group hello") },
        { MsgBody: text("group, quietly") },
        { MsgBody: text("group next") },
      ]);
    });
  });

  it("settles a modify whose answer was lost after it was applied: one version, no resend", async () => {
    const message = await sentMessage();
    const calls = sim.stats.calls.modify_c2c_msg ?? 0;
    sim.inject({ api: "modify_c2c_msg", kind: "reset-after-apply" });
    const edited = await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, {
      text: "applied, unanswered",
    });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ version: 2, content: { MsgBody: text("applied, unanswered") } });
    expect(sim.stats.calls.modify_c2c_msg).toBe(calls + 1);
    expect((await versions(message.record.id)).map((v) => v.source)).toEqual(["callback", "api"]);
  });

  it("reports a lost modify that was not applied as 503, with nothing recorded", async () => {
    const message = await sentMessage();
    sim.inject({ api: "modify_c2c_msg", kind: "reset-before-apply" });
    const edited = await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, { text: "never" });
    expect(edited.status).toBe(503);
    expect(edited.headers["retry-after"]).toBeDefined();
    expect(providerContent(message).MsgBody).toEqual(text("hello"));
    expect(await versions(message.record.id)).toHaveLength(1);
    // The message is free again: the next edit goes through.
    expect(
      (await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, { text: "now" })).status,
    ).toBe(200);
  });

  it("answers 504 outcome unknown when neither the answer, the echo nor a read-back comes, then resolves it", async () => {
    // Prepare: the modify is applied but unanswered and unechoed, and the first read-back fails.
    const message = await sentMessage();
    sim.inject({ api: "modify_c2c_msg", kind: "reset-after-apply-silently" });
    sim.inject({ api: "admin_getroammsg", kind: "error", code: 90009 });
    // Act
    const edited = await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, { text: "unknown" });
    const afterwards = await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, { text: "next" });
    // Assess: unknown is said plainly; the message stays locked to that edit until a read-back settled it
    // (within seconds), so the next edit waited and was sent against the settled version.
    expect(edited.status).toBe(504);
    expect(edited.body).toMatchObject({ outcome: "unknown", error: { code: "outcome_unknown" } });
    expect(afterwards.status).toBe(200);
    expect(afterwards.body).toMatchObject({ version: 3 });
    const history = await versions(message.record.id);
    expect(history.map((v) => [v.source, v.content])).toEqual([
      ["callback", { MsgBody: text("hello") }],
      ["api", { MsgBody: text("unknown") }],
      ["api", { MsgBody: text("next") }],
    ]);
    expect(providerContent(message).MsgBody).toEqual(text("next"));
  });

  it("refuses recalled and non-editable messages with 409 and no provider call", async () => {
    const message = await sentMessage();
    await app.recallC2C(message.from, message.to, message.msgKey);
    const calls = sim.stats.calls.modify_c2c_msg ?? 0;
    const refused = await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, { text: "too late" });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: { code: "not_editable" } });
    expect(sim.stats.calls.modify_c2c_msg ?? 0).toBe(calls);
  });

  it("does not let a replayed-signature recall callback block edits of a message Tencent still has", async () => {
    // Tencent's Sign covers the URL only: anyone holding a signed URL can post another body within 60 s.
    const message = await sentMessage("still here");
    const forged = await postTencent(stack.url, {
      CallbackCommand: "C2C.CallbackAfterMsgWithDraw",
      From_Account: message.from,
      To_Account: message.to,
      MsgKey: message.msgKey,
      EventTime: Date.now(),
    });
    expect(forged.status).toBe(200);
    expect((await api(stack.url, `/v1/messages/${message.record.id}`)).body).toMatchObject({
      state: "recalled",
    });
    // The edit asks the provider's history first (admin_getroammsg): not recalled there, so it proceeds.
    const edited = await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, { text: "edited" });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ state: "sent", version: 2, content: { MsgBody: text("edited") } });
    expect(providerContent(message).MsgBody).toEqual(text("edited"));
  });

  it("refuses bad edits with 400 and content Tencent would refuse with 422", async () => {
    const message = await sentMessage();
    expect((await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, {})).status).toBe(400);
    expect(
      (await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, { text: "x".repeat(13_000) }))
        .status,
    ).toBe(422);
    expect(
      (
        await send(
          stack.url,
          "PATCH",
          `/v1/messages/${message.record.id}`,
          { text: "a" },
          { "if-match": "soon" },
        )
      ).status,
    ).toBe(400);
    expect(
      (await send(stack.url, "PATCH", "/v1/messages/c2c_aaaaaaaaaaaaaaaaaaaaaaaaaa", { text: "a" })).status,
    ).toBe(404);
  });

  it("edits group and topic messages", async () => {
    const groupId = `@TGS#${randomUUID().slice(0, 8)}`;
    sim.createGroup(groupId, "Community");
    const topicId = `${groupId}@TOPIC#_news`;
    for (const topic of [undefined, topicId]) {
      const seq = await app.sendGroup(groupId, "member", "group hello", topic);
      const query = new URLSearchParams({
        provider: "tencent",
        appId: APP_ID,
        groupId,
        msgSeq: String(seq),
        ...(topic ? { topicId: topic } : {}),
      });
      const record = (await api(stack.url, `/v1/messages?${query}`)).body as RecordBody;
      const edited = await send(stack.url, "PATCH", `/v1/messages/${record.id}`, { text: "group edited" });
      expect(edited.body).toMatchObject({ version: 2, content: { MsgBody: text("group edited") } });
      expect(sim.groupMessage(groupId, topic, seq)?.MsgBody).toEqual(text("group edited"));
      expect(await versions(record.id)).toHaveLength(2);
    }
  });

  it("refuses AVChatRoom messages (recorded on request) with 409", async () => {
    const groupId = `@TGS#live${randomUUID().slice(0, 6)}`;
    sim.createGroup(groupId, "AVChatRoom");
    const seq = await app.sendGroup(groupId, "host", "live");
    const record = (
      await api(
        stack.url,
        `/v1/messages?provider=tencent&appId=${APP_ID}&groupId=${encodeURIComponent(groupId)}&msgSeq=${seq}`,
      )
    ).body as RecordBody & { editable: boolean };
    expect(record.editable).toBe(false);
    expect((await send(stack.url, "PATCH", `/v1/messages/${record.id}`, { text: "x" })).status).toBe(409);
  });

  it("purges history but the newest version, keeping hash, actor, reason and time", async () => {
    const message = await sentMessage("secret");
    await send(stack.url, "PATCH", `/v1/messages/${message.record.id}`, { text: "redacted" });
    const purged = await send(
      stack.url,
      "DELETE",
      `/v1/messages/${message.record.id}/versions`,
      { reason: "GDPR erasure" },
      {
        "x-actor": "dpo",
      },
    );
    expect(purged.body).toEqual({ id: message.record.id, purged: 1 });
    const [first, second] = await versions(message.record.id);
    expect(first).toMatchObject({
      version: 1,
      content: {},
      restorable: false,
      purged: { by: "dpo", reason: "GDPR erasure" },
    });
    expect(JSON.stringify(first)).not.toContain("secret");
    expect(second).toMatchObject({ version: 2, content: { MsgBody: text("redacted") } });
    expect(
      (await send(stack.url, "POST", `/v1/messages/${message.record.id}/restore`, { version: 1 })).status,
    ).toBe(422);
    expect((await send(stack.url, "DELETE", `/v1/messages/${message.record.id}/versions`)).status).toBe(400);
  });

  it("takes the same operations by direct invoke, by id or natural key", async () => {
    const message = await sentMessage();
    const key = { provider: "tencent", appId: APP_ID, msgKey: message.msgKey };
    const edited = await invoke({
      action: "edit",
      target: { key },
      body: { text: "invoked" },
      actor: "moderation-bot",
    });
    expect(edited).toMatchObject({
      status: 200,
      body: { version: 2, content: { MsgBody: text("invoked") } },
    });
    const history = await invoke({ action: "versions", target: { id: message.record.id } });
    expect(history).toMatchObject({
      body: { items: [{ version: 1 }, { version: 2, actor: "moderation-bot" }] },
    });
    expect(await invoke({ action: "explode" })).toMatchObject({
      status: 400,
      body: { error: { code: "validation_failed" } },
    });
  });

  it("records an edit made by someone else (a client) as a client version", async () => {
    const message = await sentMessage();
    // Another tool edits as another admin-less operator: Tencent calls the recorder back.
    await app.call("openim", "modify_c2c_msg", {
      From_Account: message.from,
      To_Account: message.to,
      MsgKey: message.msgKey,
      MsgBody: text("edited elsewhere"),
    });
    const history = await versions(message.record.id);
    // Our own admin account made that call with no open intent: someone else's edit, a new version.
    expect(history.map((v) => [v.version, v.source])).toEqual([
      [1, "callback"],
      [2, "client"],
    ]);
  });
});
