import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SlidingWindowLimiter } from "../../../functions/core/limiter.ts";
import { NeteaseRestClient } from "../../../functions/providers/netease/rest.ts";
import type { NeteaseSimulator } from "../../../local/simulators/netease/api.ts";
import type { LocalStack } from "../../../local/stack.ts";
import { fixture } from "../../helpers/fixtures.ts";
import { send } from "../../helpers/http.ts";
import { copyHeaders } from "../../helpers/netease.ts";
import { neteaseApp } from "../../helpers/netease-app.ts";
import { api, startTestStack } from "../../helpers/stack.ts";

interface RecordBody {
  id: string;
  version: number;
  state: string;
  editable: boolean;
  key: Record<string, string>;
  content: Record<string, unknown>;
}

describe("Yunxin end to end (local stack + Yunxin simulator)", () => {
  let stack: LocalStack;
  let sim: NeteaseSimulator;
  let app: ReturnType<typeof neteaseApp>;
  beforeAll(async () => {
    stack = await startTestStack({ neteaseSimulator: true, tencentSimulator: false });
    if (!stack.netease) throw new Error("no simulator");
    sim = stack.netease;
    app = neteaseApp(stack);
  });
  afterAll(async () => {
    await stack.close();
  });

  const byMsgId = async (msgId: string) =>
    (await api(stack.url, `/v1/messages?provider=netease&appId=${app.appKey}&msgId=${msgId}`))
      .body as RecordBody;
  const versions = async (id: string) =>
    (
      (await api(stack.url, `/v1/messages/${id}/versions`)).body as {
        items: { version: number; source: string; content: unknown }[];
      }
    ).items;

  /** Posts a message copy to the recorder as Yunxin would, signed with the stack's secret. */
  async function postCopy(body: unknown, now = Date.now()) {
    const bytes = Buffer.from(JSON.stringify(body));
    const headers = copyHeaders(bytes, now, stack.config.netease?.appSecret);
    const response = await request(`${stack.url}/callbacks/netease`, {
      method: "POST",
      headers: { ...headers, appkey: app.appKey, "content-type": "application/json" },
      body: bytes,
    });
    return { status: response.statusCode, body: await response.body.json() };
  }

  it("records a sent message from its copy, with the server id exact above 2^53", async () => {
    const msgId = await app.sendText("alice", "bob", "hello");
    expect(BigInt(msgId)).toBeGreaterThan(2n ** 53n);
    const record = await byMsgId(msgId);
    expect(record).toMatchObject({
      kind: "p2p",
      state: "sent",
      version: 1,
      editable: true,
      key: { msgId, from: "alice", to: "bob", type: "1", messageType: "0" },
      content: { text: "hello" },
    });
  });

  it("edits with modifyMsg: one version, the copy of our own edit adds none", async () => {
    const msgId = await app.sendText("alice", "bob", "before");
    const record = await byMsgId(msgId);
    const edited = await send(stack.url, "PATCH", `/v1/messages/${record.id}`, {
      text: "after",
      extension: '{"edited":true}',
    });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({
      version: 2,
      content: { text: "after", extension: '{"edited":true}' },
    });
    expect(sim.message(msgId)).toMatchObject({ text: "after", extension: '{"edited":true}' });
    expect((await versions(record.id)).map((v) => v.source)).toEqual(["callback", "api"]);
  });

  it("spaces two edits of one message by the per-message interval: no 107449", async () => {
    const msgId = await app.sendText("alice", "carol", "one");
    const { id } = await byMsgId(msgId);
    const started = Date.now();
    const first = await send(stack.url, "PATCH", `/v1/messages/${id}`, { text: "two" });
    const second = await send(stack.url, "PATCH", `/v1/messages/${id}`, { text: "three" });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(sim.stats.rateLimited.modifyMsg ?? 0).toBe(0);
    expect(sim.message(msgId)?.text).toBe("three");
  });

  it("records an edit made elsewhere (a copy with new content) as a client version", async () => {
    const msgId = await app.sendText("dave", "erin", "original");
    const { id } = await byMsgId(msgId);
    const copy = {
      ...fixture("netease", "copy-p2p-text"),
      msgidServer: msgId,
      fromAccount: "dave",
      to: "erin",
      body: "changed on a phone",
      msgTimestamp: String(Date.now()),
    };
    expect((await postCopy(copy)).body).toEqual({ code: 200 });
    expect((await versions(id)).map((v) => [v.source, v.content])).toEqual([
      ["callback", { text: "original" }],
      ["client", { text: "changed on a phone", attachmentRaw: "thisisattach" }],
    ]);
  });

  it("refuses messages past the 7-day window with 409 and no provider call", async () => {
    const msgId = String(158844553334358020n + BigInt(Math.floor(Math.random() * 1e6)) + 10_000_000n);
    const old = {
      ...fixture("netease", "copy-p2p-text"),
      msgidServer: msgId,
      msgTimestamp: String(Date.now() - 8 * 86_400_000),
    };
    await postCopy(old);
    const { id } = await byMsgId(msgId);
    const calls = sim.stats.calls.modifyMsg ?? 0;
    const refused = await send(stack.url, "PATCH", `/v1/messages/${id}`, { text: "too late" });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: { code: "too_old" } });
    expect(sim.stats.calls.modifyMsg ?? 0).toBe(calls);
  });

  it("marks a recalled message from the recall copy, and refuses to edit it", async () => {
    const msgId = await app.sendText("frank", "gina", "oops");
    await sim.recall(msgId);
    const record = await byMsgId(msgId);
    expect(record.state).toBe("recalled");
    expect((await send(stack.url, "PATCH", `/v1/messages/${record.id}`, { text: "x" })).status).toBe(409);
  });

  it("verifies copies: bad signature 401, foreign AppKey 403, bad body 400, nothing stored", async () => {
    const msgId = "99999999999999999";
    const copy = { ...fixture("netease", "copy-p2p-text"), msgidServer: msgId };
    const bytes = Buffer.from(JSON.stringify(copy));
    const bad = await request(`${stack.url}/callbacks/netease`, {
      method: "POST",
      headers: { ...copyHeaders(bytes, Date.now(), "wrong"), appkey: app.appKey },
      body: bytes,
    });
    expect(bad.statusCode).toBe(401);
    await bad.body.dump();
    const foreign = await request(`${stack.url}/callbacks/netease`, {
      method: "POST",
      headers: { ...copyHeaders(bytes, Date.now(), stack.config.netease?.appSecret), appkey: "someone-else" },
      body: bytes,
    });
    expect(foreign.statusCode).toBe(403);
    await foreign.body.dump();
    expect((await postCopy({ eventType: "1", convType: "PERSON" })).status).toBe(400);
    expect(
      (await api(stack.url, `/v1/messages?provider=netease&appId=${app.appKey}&msgId=${msgId}`)).status,
    ).toBe(404);
  });

  // Issue 13 defect 4: modifyMsg needs `text` for text and tip messages and `attachment` for the others.
  it("sends the current text with an extension-only edit of a text message", async () => {
    const msgId = await app.sendText("hana", "ivan", "keep me");
    const { id } = await byMsgId(msgId);
    const edited = await send(stack.url, "PATCH", `/v1/messages/${id}`, { extension: '{"flag":1}' });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ version: 2, content: { text: "keep me", extension: '{"flag":1}' } });
    expect(sim.message(msgId)).toMatchObject({ text: "keep me", extension: '{"flag":1}', modifications: 1 });
  });

  it("checks the text limit per type before calling (500 for an image's description) and sends the attachment", async () => {
    const image = { url: "http://x/y.jpg", name: "y.jpg", ext: "jpg", w: 10, h: 10, size: 1, md5: "00" };
    const msgId = await app.send("jack", "kate", { message_type: 1, attachment: image });
    const { id } = await byMsgId(msgId);
    const calls = sim.stats.calls.modifyMsg ?? 0;
    const tooLong = await send(stack.url, "PATCH", `/v1/messages/${id}`, { text: "d".repeat(501) });
    expect(tooLong.status).toBe(422);
    expect(JSON.stringify(tooLong.body)).toMatch(/at most 500/);
    expect(sim.stats.calls.modifyMsg ?? 0).toBe(calls);
    const described = await send(stack.url, "PATCH", `/v1/messages/${id}`, { text: "a cat" });
    expect(described.status).toBe(200);
    expect(sim.message(msgId)).toMatchObject({ text: "a cat", attachment: image });
  });

  it("does not record a version when Yunxin answers 200 without a modification (409 not_modified)", async () => {
    const msgId = await app.sendText("lena", "mark", "before");
    const record = await byMsgId(msgId);
    // Someone changed it at Yunxin without a copy (route disabled): im-edit still shows "before".
    const netease = stack.config.netease;
    if (!netease) throw new Error("no Yunxin config");
    const rest = new NeteaseRestClient({
      baseUrl: netease.edit.baseUrl,
      appKey: netease.appKey,
      appSecret: netease.appSecret,
      limiter: new SlidingWindowLimiter(() => ({ limit: 1000, windowMs: 1000 })),
    });
    const quiet = `{"operator":"lena","type":1,"message":{"message_server_id":${msgId},"receiver_id":"mark","time":${record.key.time},"sender_id":"lena","message_type":0,"text":"elsewhere"},"route_config":{"route_enabled":false}}`;
    await rest.call("POST", "/im/v2/messages/actions/modifyMsg", quiet, {
      operation: "modifyMsg",
      deadline: Date.now() + 3_000,
      resendAfterSend: false,
      rateKeys: [],
    });
    // Act: asking for the content Yunxin already has changes nothing there.
    const edited = await send(stack.url, "PATCH", `/v1/messages/${record.id}`, { text: "elsewhere" });
    // Assess
    expect(edited.status).toBe(409);
    expect(edited.body).toMatchObject({ error: { code: "not_modified" } });
    expect(await versions(record.id)).toHaveLength(1);
    expect(sim.message(msgId)?.modifications).toBe(1);
  });

  it("classifies a 414 by a signed read, not by its message: edit refused 422, our identity refused 502", async () => {
    const msgId = await app.sendText("nina", "omar", "hello");
    const { id } = await byMsgId(msgId);
    sim.inject({ api: "modifyMsg", kind: "error", code: 414, msg: "CheckSum check failed" });
    const content = await send(stack.url, "PATCH", `/v1/messages/${id}`, { text: "x" });
    expect(content.status).toBe(422);
    expect(content.body).toMatchObject({ error: { code: "content_refused", providerCode: 414 } });
    sim.inject({ api: "modifyMsg", kind: "error", code: 414, msg: "parameter error" });
    sim.inject({ api: "queryMessage", kind: "error", code: 414, msg: "parameter error" });
    const identity = await send(stack.url, "PATCH", `/v1/messages/${id}`, { text: "y" });
    expect(identity.status).toBe(502);
    expect(identity.body).toMatchObject({ error: { code: "provider_rejected", providerCode: 414 } });
    expect(await versions(id)).toHaveLength(1);
  });

  // Issue 13 defect 3 for Yunxin: 408 / 500 / 503 / 514 do not say whether modifyMsg was applied.
  it("settles a modifyMsg applied but answered 500 by its copy: one version, no resend", async () => {
    const msgId = await app.sendText("paul", "rita", "before");
    const { id } = await byMsgId(msgId);
    const calls = sim.stats.calls.modifyMsg ?? 0;
    sim.inject({ api: "modifyMsg", kind: "error-after-apply", code: 500, msg: "internal error" });
    const edited = await send(stack.url, "PATCH", `/v1/messages/${id}`, { text: "applied anyway" });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ version: 2, content: { text: "applied anyway" } });
    expect(sim.stats.calls.modifyMsg).toBe(calls + 1);
    expect((await versions(id)).map((v) => v.source)).toEqual(["callback", "api"]);
  });

  it("settles a modifyMsg not applied but answered 503 by a read-back: nothing recorded, no resend", async () => {
    const msgId = await app.sendText("sara", "tom", "before");
    const { id } = await byMsgId(msgId);
    const calls = sim.stats.calls.modifyMsg ?? 0;
    sim.inject({ api: "modifyMsg", kind: "error", code: 503, msg: "server busy" });
    const edited = await send(stack.url, "PATCH", `/v1/messages/${id}`, { text: "lost" });
    expect([503, 504]).toContain(edited.status);
    expect(JSON.stringify(edited.body)).not.toMatch(/kept failing|nothing was applied/);
    expect(sim.stats.calls.modifyMsg).toBe(calls + 1);
    expect(sim.message(msgId)?.text).toBe("before");
    expect(await versions(id)).toHaveLength(1);
  });

  it("edits team messages with the team type, attachment objects included", async () => {
    const tid = String(Math.floor(Math.random() * 1e9));
    sim.createTeam(tid, "team", "owner");
    const msgId = await app.send(
      "owner",
      tid,
      { message_type: 100, attachment: { poll: "lunch?", options: ["a", "b"] } },
      2,
    );
    const record = await byMsgId(msgId);
    expect(record).toMatchObject({
      kind: "team",
      key: { type: "2", messageType: "100" },
      content: { attachment: { poll: "lunch?" } },
    });
    const edited = await send(stack.url, "PATCH", `/v1/messages/${record.id}`, {
      attachment: { poll: "dinner?", options: ["c"] },
    });
    expect(edited.status).toBe(200);
    expect(sim.message(msgId)?.attachment).toEqual({ poll: "dinner?", options: ["c"] });
    expect((await versions(record.id)).length).toBe(2);
  });
});
