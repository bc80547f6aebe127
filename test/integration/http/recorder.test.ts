import { randomUUID } from "node:crypto";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalServer } from "../../../local/server.ts";
import type { LocalStack } from "../../../local/stack.ts";
import { fixture, fixtureNames } from "../../helpers/fixtures.ts";
import { send } from "../../helpers/http.ts";
import { copyHeaders } from "../../helpers/netease.ts";
import { api, postTencent, startTestStack } from "../../helpers/stack.ts";
import { APP_ID } from "../../helpers/tencent.ts";

const OK = { ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 };
const text = (value: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: value } }];
const lookup = (query: Record<string, string>) =>
  `/v1/messages?${new URLSearchParams({ provider: "tencent", appId: APP_ID, ...query })}`;

describe("recorder over HTTP (local stack)", () => {
  let stack: LocalStack;
  let url: string;
  beforeAll(async () => {
    stack = await startTestStack();
    url = stack.url;
  });
  afterAll(async () => {
    await stack.close();
  });

  it.each(fixtureNames("tencent"))(
    "acknowledges the documented %s payload with Tencent's envelope",
    async (name) => {
      const response = await postTencent(url, fixture("tencent", name));
      expect(response.status).toBe(200);
      expect(response.body).toEqual(OK);
    },
  );

  it("makes a recorded C2C message visible by id, by natural key and in lists", async () => {
    // Prepare
    const msgKey = `1_2_${randomUUID()}`;
    const from = `alice-${randomUUID().slice(0, 8)}`;
    await postTencent(url, { ...fixture("tencent", "c2c-after-send"), MsgKey: msgKey, From_Account: from });
    // Act
    const byKey = await api(url, lookup({ msgKey }));
    const record = byKey.body as { id: string; conversation: string };
    const byId = await api(url, `/v1/messages/${record.id}`);
    const byConversation = await api(url, lookup({ conversation: record.conversation }));
    const bySender = await api(url, lookup({ sender: from }));
    const versions = await api(url, `/v1/messages/${record.id}/versions`);
    // Assess
    expect(byKey.status).toBe(200);
    expect(byKey.headers.etag).toBe('"1"');
    expect(byId.body).toEqual(byKey.body);
    expect(byId.body).toMatchObject({
      provider: "tencent",
      appId: APP_ID,
      kind: "c2c",
      key: { from, to: "Jonh", msgKey },
      sender: from,
      state: "sent",
      version: 1,
      editable: true,
      content: { MsgBody: text("red packet"), CloudCustomData: "your cloud custom data" },
    });
    expect(byConversation.body).toMatchObject({ items: [{ id: record.id }] });
    expect(bySender.body).toMatchObject({ items: [{ id: record.id }] });
    expect(versions.body).toMatchObject({ items: [{ version: 1, source: "callback", actor: from }] });
  });

  it("answers 409 ambiguous_key for a MsgKey shared by batchsendmsg recipients, and 200 with from/to", async () => {
    const msgKey = `9_9_${randomUUID()}`;
    const payload = { ...fixture("tencent", "c2c-after-send"), MsgKey: msgKey };
    await postTencent(url, { ...payload, To_Account: "bob" });
    await postTencent(url, { ...payload, To_Account: "carol" });
    const ambiguous = await api(url, lookup({ msgKey }));
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.body).toMatchObject({
      error: { code: "ambiguous_key", details: { candidates: [{}, {}] } },
    });
    const exact = await api(url, lookup({ msgKey, from: "jared", to: "carol" }));
    expect(exact.status).toBe(200);
    expect(exact.body).toMatchObject({ key: { to: "carol" } });
  });

  it("finds group messages by groupId + msgSeq, with and without topic, and completes the provisional one", async () => {
    const groupId = `@TGS#${randomUUID()}`;
    const sender = { GroupId: groupId, From_Account: `member-${randomUUID()}` };
    const before = await postTencent(url, { ...fixture("tencent", "group-before-send"), ...sender });
    expect(before.body).toEqual(OK); // before-send: allowed unchanged
    await postTencent(url, { ...fixture("tencent", "synthetic-group-after-send-topic"), ...sender });
    await postTencent(url, {
      ...fixture("tencent", "group-after-send"),
      ...sender,
      MsgSeq: 124,
      Random: 1,
    });
    const topicId = "@TGS#_@TGS#cQVLVHIM62CJ@TOPIC#_TestTopic";
    const inTopic = await api(url, lookup({ groupId, msgSeq: "124", topicId }));
    const noTopic = await api(url, lookup({ groupId, msgSeq: "124" }));
    const emptyTopic = await api(url, lookup({ groupId, msgSeq: "124", topicId: "" }));
    expect(inTopic.body).toMatchObject({ kind: "group", state: "sent", key: { topicId, random: "123456" } });
    expect(noTopic.body).toMatchObject({ key: { random: "1" } });
    expect(emptyTopic.body).toEqual(noTopic.body);
    // Only the two real messages are listed: the completed provisional record left the indexes.
    const listed = await api(
      url,
      lookup({ sender: sender.From_Account, since: "2017-03-28", until: "2017-03-29T00:00:00Z" }),
    );
    expect((listed.body as { items: unknown[] }).items).toHaveLength(2);
  });

  it("records recalls and client edits from callbacks", async () => {
    const msgKey = `5_5_${randomUUID()}`;
    const sent = { ...fixture("tencent", "c2c-after-send"), MsgKey: msgKey };
    await postTencent(url, sent);
    await postTencent(url, { ...fixture("tencent", "c2c-after-modify"), MsgKey: msgKey, To_Account: "Jonh" });
    const edited = await api(url, lookup({ msgKey }));
    expect(edited.body).toMatchObject({ version: 2, content: { CloudCustomData: "1769772027" } });
    const id = (edited.body as { id: string }).id;
    const history = await api(url, `/v1/messages/${id}/versions`);
    expect((history.body as { items: { source: string }[] }).items.map((v) => v.source)).toEqual([
      "callback",
      "client",
    ]);
    await postTencent(url, { ...fixture("tencent", "c2c-after-withdraw"), MsgKey: msgKey });
    expect((await api(url, `/v1/messages/${id}`)).body).toMatchObject({
      state: "recalled",
      editable: false,
      version: 2,
    });
  });

  it("stores one record and one version when one callback arrives 20 times at once", async () => {
    const msgKey = `7_7_${randomUUID()}`;
    const payload = { ...fixture("tencent", "c2c-after-send"), MsgKey: msgKey };
    const replies = await Promise.all(Array.from({ length: 20 }, () => postTencent(url, payload)));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    const record = (await api(url, lookup({ msgKey }))).body as { id: string; version: number };
    expect(record.version).toBe(1);
    const versions = (await api(url, `/v1/messages/${record.id}/versions`)).body as { items: unknown[] };
    expect(versions.items).toHaveLength(1);
  });

  it("reads the raw body whatever the Content-Type says", async () => {
    const msgKey = `3_3_${randomUUID()}`;
    const payload = { ...fixture("tencent", "c2c-after-send"), MsgKey: msgKey };
    for (const contentType of ["text/plain", "application/octet-stream"]) {
      const response = await postTencent(url, payload, { headers: { "content-type": contentType } });
      expect(response.status).toBe(200);
    }
    expect((await api(url, lookup({ msgKey }))).status).toBe(200);
  });

  describe("refusals store nothing", () => {
    const cases: [string, number, (msgKey: string) => Promise<{ status: number; body: unknown }>][] = [
      ["a bad signature", 401, (k) => postTencent(url, payloadWith(k), { query: { Sign: "0".repeat(64) } })],
      [
        "a stale signature",
        401,
        (k) => postTencent(url, payloadWith(k), { now: new Date(Date.now() - 120_000) }),
      ],
      [
        "a foreign SdkAppid",
        403,
        (k) => postTencent(url, payloadWith(k), { query: { SdkAppid: "1400000001" } }),
      ],
      ["malformed JSON", 400, (k) => postTencent(url, payloadWith(k), { raw: `{"MsgKey":"${k}",` })],
      ["a schema violation", 400, (k) => postTencent(url, { ...payloadWith(k), MsgTime: "yesterday" })],
      [
        "a body over the cap",
        413,
        (k) => postTencent(url, { ...payloadWith(k), CloudCustomData: "x".repeat(70_000) }),
      ],
    ];
    it.each(cases)("%s → %i", async (_, status, send) => {
      const msgKey = `0_0_${randomUUID()}`;
      const response = await send(msgKey);
      expect(response.status).toBe(status);
      expect(response.body).toMatchObject({
        error: { code: expect.any(String), message: expect.any(String) },
      });
      expect(JSON.stringify(response.body)).not.toMatch(/xxxxyyyy|stack|at \//);
      expect((await api(url, lookup({ msgKey }))).status).toBe(404);
    });
  });

  it("acknowledges commands it does not record", async () => {
    const response = await postTencent(url, {
      CallbackCommand: "Group.CallbackAfterNewMemberJoin",
      GroupId: "g",
    });
    expect(response.body).toEqual(OK);
  });

  describe("API", () => {
    it("needs the bearer token", async () => {
      expect((await api(url, "/v1/messages/c2c_aaaaaaaaaaaaaaaaaaaaaaaaaa", null)).status).toBe(401);
      expect((await api(url, "/v1/messages/c2c_aaaaaaaaaaaaaaaaaaaaaaaaaa", "wrong")).status).toBe(401);
    });

    it("answers 404 for unknown and malformed ids alike", async () => {
      expect((await api(url, "/v1/messages/c2c_aaaaaaaaaaaaaaaaaaaaaaaaaa")).status).toBe(404);
      expect((await api(url, "/v1/messages/..%2F..%2Fetc")).status).toBe(404);
      expect((await api(url, "/v1/messages/nope/versions")).status).toBe(404);
    });

    it.each([
      ["too long", "c".repeat(300)],
      ["one character past the pattern", `c2c_${"a".repeat(27)}`],
      ["upper case", `C2C_${"A".repeat(26)}`],
      ["non-ASCII", encodeURIComponent("消息🙂")],
      ["an encoded lone surrogate", "%ED%A0%80"],
      ["a malformed escape", "%E0%A4%A"],
      ["an encoded NUL", "c2c_%00"],
      ["an inherited name", "constructor"],
    ])("answers 404, never 400, for a malformed id (%s) on every by-id route", async (_, id) => {
      expect((await api(url, `/v1/messages/${id}`)).status).toBe(404);
      expect((await api(url, `/v1/messages/${id}/versions`)).status).toBe(404);
      expect((await send(url, "PATCH", `/v1/messages/${id}`, { text: "x" })).status).toBe(404);
      expect((await send(url, "POST", `/v1/messages/${id}/restore`, { version: 1 })).status).toBe(404);
      expect((await send(url, "DELETE", `/v1/messages/${id}/versions?reason=gdpr`)).status).toBe(404);
    });

    it("validates list parameters and page tokens", async () => {
      expect((await api(url, "/v1/messages?provider=wechat&appId=1")).status).toBe(400);
      expect((await api(url, lookup({ since: "not a date" }))).status).toBe(400);
      expect((await api(url, lookup({ limit: "1000" }))).status).toBe(400);
      expect((await api(url, lookup({ nextToken: "garbage" }))).body).toMatchObject({
        error: { code: "invalid_next_token" },
      });
      expect((await api(url, lookup({ groupId: "g" }))).status).toBe(400);
    });

    it("answers 405 for a known path with another method and 404 for unknown paths", async () => {
      const wrongMethod = await request(`${url}/callbacks/tencent`, { method: "GET" });
      await wrongMethod.body.dump();
      expect(wrongMethod.statusCode).toBe(405);
      const unknown = await request(`${url}/nowhere`);
      await unknown.body.dump();
      expect(unknown.statusCode).toBe(404);
    });
  });
});

describe("hostile callbacks over HTTP: answered 4xx, or stored and readable for good", () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({ neteaseSimulator: true });
  });
  afterAll(async () => {
    await stack.close();
  });

  it.each(["constructor", "toString", "__proto__"])(
    "records MsgType %s and keeps answering reads of that message with 200",
    async (msgType) => {
      const msgKey = `1_2_${randomUUID()}`;
      const body = [{ MsgType: msgType, MsgContent: {} }];
      expect((await postTencent(stack.url, { ...payloadWith(msgKey), MsgBody: body })).status).toBe(200);
      const record = await api(stack.url, lookup({ msgKey }));
      expect(record.status).toBe(200);
      const id = (record.body as { id: string }).id;
      expect((await api(stack.url, `/v1/messages/${id}`)).status).toBe(200);
      const versions = await api(stack.url, `/v1/messages/${id}/versions`);
      expect(versions.status).toBe(200);
      expect(versions.body).toMatchObject({ items: [{ content: { MsgBody: body }, restorable: false }] });
    },
  );

  it.each([
    ["MsgTime", { MsgTime: 1e13 }],
    ["EventTime", { EventTime: "9999999999999999" }],
    ["From_Account", { From_Account: "\ud800" }],
    ["MsgContent", { MsgBody: [{ MsgType: "TIMCustomElem", MsgContent: { Data: "d", constructor: "x" } }] }],
  ])("refuses an out-of-range or unstorable %s with 400 and stores nothing", async (_, change) => {
    const msgKey = `1_2_${randomUUID()}`;
    const response = await postTencent(stack.url, { ...payloadWith(msgKey), ...change });
    expect(response.status).toBe(400);
    expect((response.body as { error: { message: string } }).error.message).toMatch(/invalid|body/);
    expect((await api(stack.url, lookup({ msgKey }))).status).toBe(404);
  });

  it("stores a documented Yunxin copy whose attach holds an integer above 2^53 instead of spooling it for good", async () => {
    const netease = stack.config.netease;
    if (!netease) throw new Error("no Yunxin config");
    const payload = {
      ...fixture("netease", "synthetic-copy-superteam-custom"),
      msgidServer: "9007199254740995",
    };
    const bytes = Buffer.from(JSON.stringify(payload));
    const response = await request(`${stack.url}/callbacks/netease`, {
      method: "POST",
      headers: { ...copyHeaders(bytes, Date.now(), netease.appSecret), appkey: netease.appKey },
      body: bytes,
    });
    expect(response.statusCode).toBe(200);
    await response.body.dump();
    const found = await api(
      stack.url,
      `/v1/messages?provider=netease&appId=${netease.appKey}&msgId=9007199254740995`,
    );
    expect(found.status).toBe(200);
    const { attach } = fixture("netease", "synthetic-copy-superteam-custom");
    expect(found.body).toMatchObject({ content: { attachmentRaw: attach } });
    expect(await stack.spool.pending()).toEqual([]);
  });
});

describe("local server", () => {
  it("passes query parameters named like Object.prototype members through as they are", async () => {
    const seen: unknown[] = [];
    const server = await startLocalServer({
      host: "127.0.0.1",
      port: 0,
      apiToken: "t",
      maxBodyBytes: 1024,
      handlers: {
        recorder: async (event) => {
          seen.push(event.queryStringParameters);
          return { statusCode: 200, body: "{}" };
        },
        editor: async () => ({ statusCode: 200, body: "{}" }),
      },
    });
    try {
      const query = "constructor=a&toString=b&__proto__=c&hasOwnProperty=d&valueOf=e&x=1&x=2";
      const response = await request(`${server.url}/callbacks/tencent?${query}`, {
        method: "POST",
        body: "{}",
      });
      await response.body.dump();
      const parameters = seen[0] as Record<string, string>;
      expect(Object.entries(parameters)).toEqual([
        ["constructor", "a"],
        ["toString", "b"],
        ["__proto__", "c"],
        ["hasOwnProperty", "d"],
        ["valueOf", "e"],
        ["x", "1,2"],
      ]);
    } finally {
      await server.close();
    }
  });
});

function payloadWith(msgKey: string) {
  return { ...fixture("tencent", "c2c-after-send"), MsgKey: msgKey };
}
