import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { deflateSync, inflateSync } from "node:zlib";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { TencentCallback } from "../../../functions/providers/tencent/callback.ts";
import { verifyTencentQuery } from "../../../functions/providers/tencent/verify.ts";
import {
  callbackSign,
  generateUserSig,
  TencentSimulator,
  type TencentSimulatorOptions,
} from "../../../local/simulators/tencent/api.ts";

const APP = "1400000000";
const KEY = "simulator-test-secret-key";
const ADMIN = "administrator";
const TOKEN = "xxxxyyyy";
const SIG = generateUserSig(APP, KEY, ADMIN);

const text = (value: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: value } }];

// ---- helpers -------------------------------------------------------------------------------------

const running: { close(): Promise<void> }[] = [];
afterEach(async () => {
  // Simulators first: they wait for their callbacks, which need the receivers still up.
  for (const item of running.splice(0).reverse()) await item.close();
});

async function simulator(options: Partial<TencentSimulatorOptions> = {}): Promise<TencentSimulator> {
  const sim = await TencentSimulator.start({
    sdkAppId: APP,
    secretKey: KEY,
    adminIdentifier: ADMIN,
    ...options,
  });
  running.push(sim);
  return sim;
}

interface Reply {
  readonly status: number;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

/** A REST call the way Tencent documents it (§4.1); `query` overrides URL parameters ("" drops one). */
async function call(
  sim: TencentSimulator,
  path: string,
  body: unknown,
  query: Record<string, string> = {},
  method = "POST",
): Promise<Reply> {
  const params = new URLSearchParams();
  const all = {
    sdkappid: APP,
    identifier: ADMIN,
    usersig: SIG,
    random: "99999999",
    contenttype: "json",
    ...query,
  };
  for (const [name, value] of Object.entries(all)) if (value !== "") params.set(name, value);
  const response = await request(`${sim.url}/v4/${path}?${params}`, {
    method: method as "POST",
    headers: { "content-type": "application/json" },
    ...(method === "POST" ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });
  const raw = await response.body.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    // non-JSON answers (http-status faults) keep json empty
  }
  return { status: response.statusCode, text: raw, json };
}

const code = (reply: Reply) => reply.json.ErrorCode;

interface Received {
  readonly query: URLSearchParams;
  readonly body: Record<string, unknown>;
}

/** The recorder's stand-in: records callbacks and answers Tencent's OK envelope, optionally held. */
async function receiver(status = 200) {
  const received: Received[] = [];
  const listeners = new Set<() => void>();
  let gate: Promise<void> = Promise.resolve();
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const url = new URL(req.url ?? "/", "http://receiver");
    received.push({ query: url.searchParams, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
    for (const listener of listeners) listener();
    await gate;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const self = {
    url: `http://127.0.0.1:${port}/callbacks/tencent`,
    received,
    commands: () => received.map((r) => r.body.CallbackCommand),
    /** Holds every answer until the returned function is called. */
    hold(): () => void {
      let release = () => {};
      gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      return release;
    },
    waitFor(command: string): Promise<Received> {
      return new Promise((resolve) => {
        const check = () => {
          const hit = received.find((r) => r.body.CallbackCommand === command);
          if (hit === undefined) return;
          listeners.delete(check);
          resolve(hit);
        };
        listeners.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  running.push(self);
  return self;
}

/** "pending" if the promise has not settled within `ms`. */
const settledWithin = (promise: Promise<unknown>, ms: number) =>
  Promise.race([
    promise.then(
      () => "settled",
      () => "settled",
    ),
    new Promise((resolve) => setTimeout(() => resolve("pending"), ms)),
  ]);

/** Re-encodes a UserSig document (url-safe base64 of zlib JSON, §7.2) after `change`. */
function rewriteSig(
  sig: string,
  change: (doc: Record<string, unknown>) => void,
  level = 6,
  trailer = "",
): string {
  const raw = Buffer.from(sig.replace(/\*/g, "+").replace(/-/g, "/").replace(/_/g, "="), "base64");
  const doc = JSON.parse(inflateSync(raw).toString("utf8")) as Record<string, unknown>;
  change(doc);
  return deflateSync(Buffer.from(JSON.stringify(doc) + trailer), { level })
    .toString("base64")
    .replace(/\+/g, "*")
    .replace(/\//g, "-")
    .replace(/=/g, "_");
}

async function sendC2C(sim: TencentSimulator, body: Record<string, unknown> = {}) {
  const reply = await call(sim, "openim/sendmsg", {
    From_Account: "alice",
    To_Account: "bob",
    MsgRandom: 2837546,
    MsgBody: text("hello"),
    CloudCustomData: "meta",
    ...body,
  });
  expect(reply.json).toMatchObject({ ActionStatus: "OK", ErrorCode: 0 });
  return String(reply.json.MsgKey);
}

const modifyC2C = (sim: TencentSimulator, msgKey: string, body: Record<string, unknown> = {}) =>
  call(sim, "openim/modify_c2c_msg", {
    From_Account: "alice",
    To_Account: "bob",
    MsgKey: msgKey,
    MsgBody: text("edited"),
    ...body,
  });

// ---- tests ---------------------------------------------------------------------------------------

describe("Tencent simulator: URL and UserSig checks (§4.1, §7.2)", () => {
  it("accepts a UserSig from tls-sig-api-v2, also when stored uncompressed as Go's library does", async () => {
    // Prepare
    const sim = await simulator();
    const goStyle = rewriteSig(SIG, () => {}, 0, "\n");
    // Act
    const node = await call(sim, "openim/admin_getroammsg", roam());
    const go = await call(sim, "openim/admin_getroammsg", roam(), { usersig: goStyle });
    // Assess
    expect(node.json).toMatchObject({ ActionStatus: "OK", ErrorCode: 0, Complete: 1, MsgCnt: 0 });
    expect(code(go)).toBe(0);
  });

  it("refuses tampered, foreign-key, expired, other-identifier, other-app and garbage UserSigs", async () => {
    // Prepare
    let clock = Date.now();
    const sim = await simulator({ now: () => clock });
    const forged = rewriteSig(SIG, (doc) => {
      doc["TLS.expire"] = 999_999_999;
    });
    const shortLived = generateUserSig(APP, KEY, ADMIN, 1);
    // Act
    const tampered = await call(sim, "openim/admin_getroammsg", roam(), { usersig: forged });
    const foreignKey = await call(sim, "openim/admin_getroammsg", roam(), {
      usersig: generateUserSig(APP, "another-key", ADMIN),
    });
    const otherUser = await call(sim, "openim/admin_getroammsg", roam(), {
      usersig: generateUserSig(APP, KEY, "bob"),
    });
    const otherApp = await call(sim, "openim/admin_getroammsg", roam(), {
      usersig: generateUserSig("1400000001", KEY, ADMIN),
    });
    const garbage = await call(sim, "openim/admin_getroammsg", roam(), { usersig: "not*a*sig" });
    const notAdmin = await call(sim, "openim/admin_getroammsg", roam(), {
      identifier: "bob",
      usersig: generateUserSig(APP, KEY, "bob"),
    });
    clock += 5_000;
    const expired = await call(sim, "openim/admin_getroammsg", roam(), { usersig: shortLived });
    // Assess
    expect(tampered.json).toMatchObject({ ActionStatus: "FAIL", ErrorCode: 70009 });
    expect(code(foreignKey)).toBe(70009);
    expect(code(otherUser)).toBe(70013);
    expect(code(otherApp)).toBe(70014);
    expect(code(garbage)).toBe(70003);
    expect(code(notAdmin)).toBe(60010);
    expect(code(expired)).toBe(70001);
    expect(tampered.status).toBe(200);
  });

  it("checks sdkappid, random, contenttype, method, resource and JSON", async () => {
    // Prepare
    const sim = await simulator();
    const path = "openim/admin_getroammsg";
    // Act
    const wrongApp = await call(sim, path, roam(), { sdkappid: "1400000001" });
    const noApp = await call(sim, path, roam(), { sdkappid: "" });
    const noSig = await call(sim, path, roam(), { usersig: "" });
    const badRandom = await call(sim, path, roam(), { random: "4294967296" });
    const xml = await call(sim, path, roam(), { contenttype: "xml" });
    const get = await call(sim, path, undefined, {}, "GET");
    const unknown = await call(sim, "openim/no_such_api", {});
    const wrongService = await call(sim, "group_open_http_svc/modify_group_msg", {});
    const badJson = await call(sim, path, "{not json");
    const arrayBody = await call(sim, "group_open_http_svc/group_msg_get_simple", "[]");
    // Assess
    expect(code(wrongApp)).toBe(60006);
    expect(code(noApp)).toBe(60012);
    expect(code(noSig)).toBe(60025);
    expect(code(badRandom)).toBe(60002);
    expect(code(xml)).toBe(60025);
    expect(code(get)).toBe(60002);
    expect(code(unknown)).toBe(60009);
    expect(code(wrongService)).toBe(60009);
    expect(code(badJson)).toBe(90001);
    expect(code(arrayBody)).toBe(60003);
    expect(sim.stats.calls.admin_getroammsg).toBe(7);
  });

  it("answers 60007 above ratePerSecond in a rolling second, per API", async () => {
    // Prepare
    let clock = Date.now();
    const sim = await simulator({ ratePerSecond: 5, now: () => clock });
    // Act
    const codes: unknown[] = [];
    for (let i = 0; i < 6; i += 1) {
      clock += 100;
      codes.push(code(await call(sim, "openim/admin_getroammsg", roam())));
    }
    const otherApi = await call(sim, "group_open_http_svc/group_msg_get_simple", {
      GroupId: "g",
      ReqMsgNumber: 1,
    });
    clock += 501; // the first admitted call is now just over 1 s old
    const later = await call(sim, "openim/admin_getroammsg", roam());
    // Assess
    expect(codes).toEqual([0, 0, 0, 0, 0, 60007]);
    expect(code(otherApi)).toBe(10010);
    expect(code(later)).toBe(0);
    expect(sim.stats.rateLimited).toEqual({ admin_getroammsg: 1 });
  });
});

describe("Tencent simulator: C2C messages", () => {
  it("sends, calls back, modifies, and shows the new content in admin_getroammsg", async () => {
    // Prepare
    const recorder = await receiver();
    const sim = await simulator({ callbackUrl: recorder.url, callbackToken: TOKEN });
    const msgKey = await sendC2C(sim);
    const sent = recorder.received[0];
    // Act
    const modified = await modifyC2C(sim, msgKey, { CloudCustomData: "new meta" });
    const roamed = await call(
      sim,
      "openim/admin_getroammsg",
      roam({ Operator_Account: "bob", Peer_Account: "alice" }),
    );
    // Assess
    expect(msgKey).toMatch(/^\d+_2837546_\d+$/);
    expect(sent?.body).toMatchObject({
      CallbackCommand: "C2C.CallbackAfterSendMsg",
      From_Account: "alice",
      To_Account: "bob",
      MsgKey: msgKey,
      MsgBody: text("hello"),
      CloudCustomData: "meta",
      SendMsgResult: 0,
    });
    expect(modified.json).toEqual({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "succeed" });
    expect(roamed.json).toMatchObject({
      Complete: 1,
      MsgCnt: 1,
      LastMsgKey: msgKey,
      MsgList: [{ MsgKey: msgKey, MsgFlagBits: 0, MsgBody: text("edited"), CloudCustomData: "new meta" }],
    });
    expect(sim.c2cMessage("alice", "bob", msgKey)).toMatchObject({
      MsgBody: text("edited"),
      CloudCustomData: "new meta",
      recalled: false,
      modifications: 1,
    });
    expect(sim.stats.applied).toMatchObject({ sendmsg: 1, modify_c2c_msg: 1, admin_getroammsg: 1 });
  });

  it("overwrites only the fields sent", async () => {
    // Prepare
    const sim = await simulator();
    const msgKey = await sendC2C(sim);
    // Act
    await call(sim, "openim/modify_c2c_msg", {
      From_Account: "alice",
      To_Account: "bob",
      MsgKey: msgKey,
      CloudCustomData: "x",
    });
    // Assess
    expect(sim.c2cMessage("alice", "bob", msgKey)).toMatchObject({
      MsgBody: text("hello"),
      CloudCustomData: "x",
    });
  });

  it("pages admin_getroammsg newest first over both directions, flagging recalled messages", async () => {
    // Prepare
    let clock = Date.now();
    const sim = await simulator({ now: () => clock });
    const keys: string[] = [];
    for (const [i, from] of ["alice", "bob", "alice"].entries()) {
      clock += 1_000;
      keys.push(
        await sendC2C(sim, {
          From_Account: from,
          To_Account: from === "alice" ? "bob" : "alice",
          MsgSeq: i + 1,
        }),
      );
    }
    await call(sim, "openim/admin_msgwithdraw", {
      From_Account: "bob",
      To_Account: "alice",
      MsgKey: keys[1],
    });
    // Act
    const first = await call(sim, "openim/admin_getroammsg", roam({ MaxCnt: 2 }));
    const second = await call(
      sim,
      "openim/admin_getroammsg",
      roam({ MaxCnt: 2, MaxTime: first.json.LastMsgTime, LastMsgKey: first.json.LastMsgKey }),
    );
    // Assess
    expect(first.json).toMatchObject({ Complete: 0, MsgCnt: 2, LastMsgKey: keys[1] });
    expect(
      (first.json.MsgList as { MsgKey: string; MsgFlagBits: number }[]).map((m) => [m.MsgKey, m.MsgFlagBits]),
    ).toEqual([
      [keys[2], 0],
      [keys[1], 8],
    ]);
    expect(second.json).toMatchObject({ Complete: 1, MsgCnt: 1, MsgList: [{ MsgKey: keys[0] }] });
  });

  it("answers a repeated send (same seq, random, content within 120 s) with the original, without a callback", async () => {
    // Prepare
    const recorder = await receiver();
    const sim = await simulator({ callbackUrl: recorder.url });
    const first = await sendC2C(sim, { MsgSeq: 7 });
    // Act
    const again = await sendC2C(sim, { MsgSeq: 7 });
    const quiet = await sendC2C(sim, { MsgSeq: 8, ForbidCallbackControl: ["ForbidAfterSendMsgCallback"] });
    // Assess
    expect(again).toBe(first);
    expect(sim.c2cMessage("alice", "bob", quiet)).toBeDefined();
    expect(recorder.commands()).toEqual(["C2C.CallbackAfterSendMsg"]);
  });

  it("refuses what Tencent refuses: 20022, 20023, 90054, 90002, 90007, 20001, 93000, 90003, 90008, 90005", async () => {
    // Prepare
    const sim = await simulator();
    const msgKey = await sendC2C(sim);
    const recalledKey = await sendC2C(sim, { MsgRandom: 1 });
    await call(sim, "openim/admin_msgwithdraw", {
      From_Account: "alice",
      To_Account: "bob",
      MsgKey: recalledKey,
    });
    const twoCustoms = [
      { MsgType: "TIMCustomElem", MsgContent: { Data: "a" } },
      { MsgType: "TIMCustomElem", MsgContent: { Data: "b" } },
    ];
    // Act
    const results = {
      notFound: await modifyC2C(sim, "1_2_3"),
      swapped: await modifyC2C(sim, msgKey, { From_Account: "bob", To_Account: "alice" }),
      recalled: await modifyC2C(sim, recalledKey),
      recallAgain: await call(sim, "openim/admin_msgwithdraw", {
        From_Account: "alice",
        To_Account: "bob",
        MsgKey: recalledKey,
      }),
      badKey: await modifyC2C(sim, "1_2"),
      noText: await modifyC2C(sim, msgKey, { MsgBody: [{ MsgType: "TIMTextElem", MsgContent: {} }] }),
      unknownType: await modifyC2C(sim, msgKey, { MsgBody: [{ MsgType: "TIMRelayElem", MsgContent: {} }] }),
      twoCustoms: await modifyC2C(sim, msgKey, { MsgBody: twoCustoms }),
      emptyBody: await modifyC2C(sim, msgKey, { MsgBody: [] }),
      notArray: await modifyC2C(sim, msgKey, { MsgBody: { MsgType: "TIMTextElem" } }),
      nothing: await call(sim, "openim/modify_c2c_msg", {
        From_Account: "alice",
        To_Account: "bob",
        MsgKey: msgKey,
      }),
      tooLarge: await modifyC2C(sim, msgKey, { MsgBody: text("x".repeat(13 * 1024)) }),
      noTo: await modifyC2C(sim, msgKey, { To_Account: 5 }),
      noFrom: await modifyC2C(sim, msgKey, { From_Account: undefined }),
      noRandom: await call(sim, "openim/sendmsg", { To_Account: "bob", MsgBody: text("x") }),
    };
    // Assess
    expect(Object.fromEntries(Object.entries(results).map(([name, reply]) => [name, code(reply)]))).toEqual({
      notFound: 20022,
      swapped: 20022,
      recalled: 20023,
      recallAgain: 20023,
      badKey: 90054,
      noText: 90002,
      unknownType: 90002,
      twoCustoms: 90002,
      emptyBody: 90002,
      notArray: 90007,
      nothing: 20001,
      tooLarge: 93000,
      noTo: 90003,
      noFrom: 90008,
      noRandom: 90005,
    });
    expect(sim.c2cMessage("alice", "bob", msgKey)).toMatchObject({
      MsgBody: text("hello"),
      modifications: 0,
    });
  });

  it("accepts every documented element kind (§6)", async () => {
    // Prepare
    const sim = await simulator();
    const msgKey = await sendC2C(sim);
    const body = [
      ...text("t"),
      { MsgType: "TIMLocationElem", MsgContent: { Desc: "here", Latitude: 22.5, Longitude: 113.9 } },
      { MsgType: "TIMFaceElem", MsgContent: { Index: 1, Data: "smile" } },
      { MsgType: "TIMCustomElem", MsgContent: { Data: "{}", Desc: "push", Ext: "", Sound: "" } },
      {
        MsgType: "TIMSoundElem",
        MsgContent: { Url: "https://x/s", UUID: "s", Size: 10, Second: 1, Download_Flag: 2 },
      },
      {
        MsgType: "TIMImageElem",
        MsgContent: {
          UUID: "i",
          ImageFormat: 1,
          ImageInfoArray: [{ Type: 1, Size: 1, Width: 1, Height: 1, URL: "https://x/i" }],
        },
      },
      {
        MsgType: "TIMFileElem",
        MsgContent: { Url: "https://x/f", UUID: "f", FileSize: 1, FileName: "f", Download_Flag: 2 },
      },
      {
        MsgType: "TIMVideoFileElem",
        MsgContent: {
          VideoUrl: "https://x/v",
          VideoUUID: "v",
          VideoSize: 1,
          VideoSecond: 1,
          VideoFormat: "mp4",
          VideoDownloadFlag: 2,
          ThumbUrl: "https://x/t",
          ThumbUUID: "t",
          ThumbSize: 1,
          ThumbWidth: 1,
          ThumbHeight: 1,
          ThumbFormat: "JPG",
          ThumbDownloadFlag: 2,
        },
      },
    ];
    // Act
    const reply = await modifyC2C(sim, msgKey, { MsgBody: body });
    // Assess
    expect(code(reply)).toBe(0);
    expect(sim.c2cMessage("alice", "bob", msgKey)?.MsgBody).toEqual(body);
  });
});

describe("Tencent simulator: group messages", () => {
  it("sends, modifies and lists group and topic messages, each with its own MsgSeq", async () => {
    // Prepare
    const recorder = await receiver();
    const sim = await simulator({ callbackUrl: recorder.url });
    const groupId = "@TGS#_community";
    const topicId = `${groupId}@TOPIC#_news`;
    sim.createGroup(groupId, "Community");
    const send = (body: Record<string, unknown>) =>
      call(sim, "group_open_http_svc/send_group_msg", {
        GroupId: groupId,
        Random: 42,
        MsgBody: text("hi"),
        ...body,
      });
    const first = await send({ From_Account: "alice", CloudCustomData: "c" });
    const second = await send({});
    const inTopic = await send({ TopicId: topicId, From_Account: "carol" });
    // Act
    const modified = await call(sim, "openim/modify_group_msg", {
      GroupId: groupId,
      MsgSeq: 1,
      MsgBody: text("edited"),
    });
    const topicModified = await call(sim, "openim/modify_group_msg", {
      GroupId: groupId,
      TopicId: topicId,
      MsgSeq: 1,
      CloudCustomData: "topic meta",
    });
    const list = await call(sim, "group_open_http_svc/group_msg_get_simple", {
      GroupId: groupId,
      ReqMsgNumber: 20,
    });
    const topicList = await call(sim, "group_open_http_svc/group_msg_get_simple", {
      GroupId: groupId,
      ReqMsgNumber: 5,
      TopicId: topicId,
    });
    // Assess
    expect([first.json.MsgSeq, second.json.MsgSeq, inTopic.json.MsgSeq]).toEqual([1, 2, 1]);
    expect(modified.json).toEqual({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "succeed" });
    expect(code(topicModified)).toBe(0);
    expect(list.json).toMatchObject({
      GroupId: groupId,
      IsFinished: 1,
      RspMsgList: [
        { MsgSeq: 2, From_Account: ADMIN, MsgBody: text("hi"), MsgRandom: 42, IsPlaceMsg: 0 },
        { MsgSeq: 1, From_Account: "alice", MsgBody: text("edited"), CloudCustomData: "c" },
      ],
    });
    expect(topicList.json).toMatchObject({
      RspMsgList: [{ MsgSeq: 1, From_Account: "carol", MsgBody: text("hi"), CloudCustomData: "topic meta" }],
    });
    expect(sim.groupMessage(groupId, undefined, 1)).toMatchObject({
      MsgBody: text("edited"),
      modifications: 1,
    });
    expect(sim.groupMessage(groupId, topicId, 1)).toMatchObject({
      TopicId: topicId,
      CloudCustomData: "topic meta",
    });
    expect(recorder.received.map((r) => [r.body.CallbackCommand, r.body.TopicId])).toEqual([
      ["Group.CallbackAfterSendMsg", undefined],
      ["Group.CallbackAfterSendMsg", undefined],
      ["Group.CallbackAfterSendMsg", topicId],
      ["Group.CallbackAfterModifyMsg", ""],
      ["Group.CallbackAfterModifyMsg", topicId],
    ]);
    expect(recorder.received[0]?.body).toMatchObject({
      Type: "Community",
      Random: 42,
      MsgSeq: 1,
      Operator_Account: ADMIN,
    });
  });

  it("recalls group messages, hides them from get_simple unless asked, and refuses to modify them", async () => {
    // Prepare
    const recorder = await receiver();
    const sim = await simulator({ callbackUrl: recorder.url });
    sim.createGroup("g1");
    for (let i = 0; i < 3; i += 1) {
      await call(sim, "group_open_http_svc/send_group_msg", {
        GroupId: "g1",
        Random: i,
        MsgBody: text(`m${i}`),
      });
    }
    // Act
    const recall = await call(sim, "group_open_http_svc/group_msg_recall", {
      GroupId: "g1",
      MsgSeqList: [{ MsgSeq: 2 }, { MsgSeq: 9 }],
    });
    const again = await call(sim, "group_open_http_svc/group_msg_recall", {
      GroupId: "g1",
      MsgSeqList: [{ MsgSeq: 2 }],
    });
    const without = await call(sim, "group_open_http_svc/group_msg_get_simple", {
      GroupId: "g1",
      ReqMsgNumber: 3,
    });
    const withRecalled = await call(sim, "group_open_http_svc/group_msg_get_simple", {
      GroupId: "g1",
      ReqMsgNumber: 2,
      ReqMsgSeq: 2,
      WithRecalledMsg: 1,
    });
    const modify = await call(sim, "openim/modify_group_msg", {
      GroupId: "g1",
      MsgSeq: 2,
      MsgBody: text("x"),
    });
    // Assess
    expect(recall.json.RecallRetList).toEqual([
      { MsgSeq: 2, RetCode: 0 },
      { MsgSeq: 9, RetCode: 10030 },
    ]);
    expect(again.json.RecallRetList).toEqual([{ MsgSeq: 2, RetCode: 10031 }]);
    expect((without.json.RspMsgList as { MsgSeq: number }[]).map((m) => m.MsgSeq)).toEqual([3, 1]);
    expect(withRecalled.json.RspMsgList).toMatchObject([
      { MsgSeq: 2, IsPlaceMsg: 2 },
      { MsgSeq: 1, IsPlaceMsg: 0 },
    ]);
    expect(code(modify)).toBe(20023);
    expect(recorder.commands().filter((c) => c === "Group.CallbackAfterRecallMsg")).toHaveLength(1);
    expect(recorder.received.at(-1)?.body).toMatchObject({ MsgSeqList: [{ MsgSeq: 2 }], Type: "Public" });
  });

  it("creates groups over REST and refuses unknown groups, AVChatRoom edits and misplaced topics", async () => {
    // Prepare
    const sim = await simulator();
    sim.createGroup("live", "AVChatRoom");
    await call(sim, "group_open_http_svc/send_group_msg", {
      GroupId: "live",
      Random: 1,
      MsgBody: text("on air"),
    });
    // Act
    const created = await call(sim, "group_open_http_svc/create_group", { Type: "Public", Name: "team" });
    const custom = await call(sim, "group_open_http_svc/create_group", {
      Type: "Community",
      Name: "c",
      GroupId: "@TGS#_c",
    });
    const taken = await call(sim, "group_open_http_svc/create_group", {
      Type: "Community",
      Name: "c",
      GroupId: "@TGS#_c",
    });
    const badPrefix = await call(sim, "group_open_http_svc/create_group", {
      Type: "Community",
      Name: "c",
      GroupId: "plain",
    });
    const badType = await call(sim, "group_open_http_svc/create_group", { Type: "Club", Name: "c" });
    const missing = await call(sim, "openim/modify_group_msg", {
      GroupId: "nope",
      MsgSeq: 1,
      MsgBody: text("x"),
    });
    const live = await call(sim, "openim/modify_group_msg", {
      GroupId: "live",
      MsgSeq: 1,
      MsgBody: text("x"),
    });
    const liveHistory = await call(sim, "group_open_http_svc/group_msg_get_simple", {
      GroupId: "live",
      ReqMsgNumber: 1,
    });
    const topicInPublic = await call(sim, "group_open_http_svc/send_group_msg", {
      GroupId: String(created.json.GroupId),
      TopicId: "t",
      Random: 1,
      MsgBody: text("x"),
    });
    const tooMany = await call(sim, "group_open_http_svc/group_msg_get_simple", {
      GroupId: "live",
      ReqMsgNumber: 21,
    });
    const noSeq = await call(sim, "openim/modify_group_msg", { GroupId: "live", MsgBody: text("x") });
    // Assess
    expect(created.json.GroupId).toMatch(/^@TGS#[A-Z0-9]+$/);
    expect(custom.json).toMatchObject({ ErrorCode: 0, GroupId: "@TGS#_c" });
    expect(code(taken)).toBe(10021);
    expect(code(badPrefix)).toBe(10015);
    expect(code(badType)).toBe(10004);
    expect(code(missing)).toBe(10010);
    expect(code(live)).toBe(10007);
    expect(code(liveHistory)).toBe(10007);
    expect(code(topicInPublic)).toBe(10004);
    expect(code(tooMany)).toBe(10004);
    expect(code(noSeq)).toBe(20001);
    expect(sim.groupMessage("live", undefined, 1)).toMatchObject({
      Type: "AVChatRoom",
      MsgBody: text("on air"),
    });
  });
});

describe("Tencent simulator: callbacks (§1, §2)", () => {
  it("signs callbacks like Tencent, and every body parses with the recorder's schemas", async () => {
    // Prepare
    const recorder = await receiver();
    const sim = await simulator({ callbackUrl: recorder.url, callbackToken: TOKEN });
    sim.createGroup("g");
    // Act
    const msgKey = await sendC2C(sim);
    await modifyC2C(sim, msgKey);
    await call(sim, "openim/admin_msgwithdraw", { From_Account: "alice", To_Account: "bob", MsgKey: msgKey });
    await call(sim, "group_open_http_svc/send_group_msg", { GroupId: "g", Random: 5, MsgBody: text("g") });
    await call(sim, "openim/modify_group_msg", { GroupId: "g", MsgSeq: 1, CloudCustomData: "d" });
    await call(sim, "group_open_http_svc/group_msg_recall", { GroupId: "g", MsgSeqList: [{ MsgSeq: 1 }] });
    // Assess
    expect(callbackSign("xxxxyyyy", "1669872112")).toBe(
      "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061",
    );
    expect(recorder.commands()).toEqual([
      "C2C.CallbackAfterSendMsg",
      "C2C.CallbackAfterModifyMsg",
      "C2C.CallbackAfterMsgWithDraw",
      "Group.CallbackAfterSendMsg",
      "Group.CallbackAfterModifyMsg",
      "Group.CallbackAfterRecallMsg",
    ]);
    for (const { query, body } of recorder.received) {
      expect(Object.fromEntries(query)).toMatchObject({
        SdkAppid: APP,
        CallbackCommand: body.CallbackCommand,
        contenttype: "json",
        ClientIP: "127.0.0.1",
        OptPlatform: "RESTAPI",
      });
      const auth = { sdkAppId: APP, callbackToken: TOKEN, maxSkewSeconds: 60 };
      expect(() => verifyTencentQuery(Object.fromEntries(query), auth, new Date())).not.toThrow();
      expect(TencentCallback.safeParse(body).error).toBeUndefined();
    }
    expect(recorder.received[1]?.body).toMatchObject({
      Operator_Account: ADMIN,
      From_Account: "alice",
      To_Account: "bob",
      MsgKey: msgKey,
      MsgRandom: 2837546,
      MsgBody: text("edited"),
      CloudCustomData: "meta",
    });
    expect(sim.stats.callbacksDelivered).toMatchObject({
      "C2C.CallbackAfterSendMsg": 1,
      "Group.CallbackAfterRecallMsg": 1,
    });
  });

  it("sends the after-modify callback before answering by default", async () => {
    // Prepare
    const recorder = await receiver();
    const sim = await simulator({ callbackUrl: recorder.url });
    const msgKey = await sendC2C(sim);
    const release = recorder.hold();
    // Act
    const modify = modifyC2C(sim, msgKey);
    await recorder.waitFor("C2C.CallbackAfterModifyMsg");
    const whileHeld = await settledWithin(modify, 100);
    release();
    // Assess
    expect(whileHeld).toBe("pending");
    expect(code(await modify)).toBe(0);
  });

  it("answers first with echo after-answer, and sends no modify callback with echo none", async () => {
    // Prepare
    const late = await receiver();
    const lateSim = await simulator({ callbackUrl: late.url, echo: "after-answer" });
    const silent = await receiver();
    const silentSim = await simulator({ callbackUrl: silent.url, echo: "none" });
    const lateKey = await sendC2C(lateSim);
    const silentKey = await sendC2C(silentSim);
    const release = late.hold();
    // Act
    const answered = await modifyC2C(lateSim, lateKey);
    const callback = await late.waitFor("C2C.CallbackAfterModifyMsg");
    release();
    await lateSim.idle();
    const quiet = await modifyC2C(silentSim, silentKey);
    // Assess
    expect(code(answered)).toBe(0);
    expect(callback.body).toMatchObject({ MsgKey: lateKey, MsgBody: text("edited") });
    expect(lateSim.stats.callbacksDelivered["C2C.CallbackAfterModifyMsg"]).toBe(1);
    expect(code(quiet)).toBe(0);
    expect(silent.commands()).toEqual(["C2C.CallbackAfterSendMsg"]);
  });

  it("counts failed callbacks without failing the API call", async () => {
    // Prepare
    const broken = await receiver(500);
    const sim = await simulator({ callbackUrl: broken.url });
    // Act
    await sendC2C(sim);
    sim.setCallbackUrl("http://127.0.0.1:1/callbacks/tencent");
    const msgKey = await sendC2C(sim, { MsgRandom: 9 });
    sim.setCallbackUrl(undefined);
    await sendC2C(sim, { MsgRandom: 10 });
    // Assess
    expect(msgKey).toMatch(/_9_/);
    expect(sim.stats.callbackFailures).toEqual({ "C2C.CallbackAfterSendMsg": 2 });
    expect(sim.stats.callbacksDelivered).toEqual({});
  });
});

describe("Tencent simulator: faults", () => {
  it("error: answers the code and applies nothing; faults match their api and are used `times` times", async () => {
    // Prepare
    const sim = await simulator();
    const msgKey = await sendC2C(sim);
    sim.inject({ api: "modify_c2c_msg", kind: "error", code: 20004, info: "network", times: 2 });
    // Act
    const roamed = await call(sim, "openim/admin_getroammsg", roam());
    const first = await modifyC2C(sim, msgKey);
    const second = await modifyC2C(sim, msgKey);
    const third = await modifyC2C(sim, msgKey);
    // Assess
    expect(code(roamed)).toBe(0);
    expect(first.json).toEqual({ ActionStatus: "FAIL", ErrorInfo: "network", ErrorCode: 20004 });
    expect(code(second)).toBe(20004);
    expect(code(third)).toBe(0);
    expect(sim.stats.faulted).toEqual({ modify_c2c_msg: 2 });
    expect(sim.c2cMessage("alice", "bob", msgKey)?.modifications).toBe(1);
    expect(sim.pendingFaults).toBe(0);
  });

  it("delay: waits, then handles normally", async () => {
    // Prepare
    const sim = await simulator();
    const msgKey = await sendC2C(sim);
    sim.inject({ kind: "delay", ms: 150 });
    // Act
    const started = performance.now();
    const reply = await modifyC2C(sim, msgKey);
    const elapsed = performance.now() - started;
    // Assess
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(code(reply)).toBe(0);
    expect(sim.c2cMessage("alice", "bob", msgKey)?.MsgBody).toEqual(text("edited"));
  });

  it("reset-before-apply: the connection drops and nothing changes", async () => {
    // Prepare
    const recorder = await receiver();
    const sim = await simulator({ callbackUrl: recorder.url });
    const msgKey = await sendC2C(sim);
    sim.inject({ api: "modify_c2c_msg", kind: "reset-before-apply" });
    // Act
    const attempt = modifyC2C(sim, msgKey);
    // Assess
    await expect(attempt).rejects.toThrow();
    expect(sim.c2cMessage("alice", "bob", msgKey)?.MsgBody).toEqual(text("hello"));
    expect(recorder.commands()).toEqual(["C2C.CallbackAfterSendMsg"]);
    expect(code(await modifyC2C(sim, msgKey))).toBe(0);
  });

  it("reset-after-apply: applied and called back, but never answered", async () => {
    // Prepare
    const recorder = await receiver();
    const sim = await simulator({ callbackUrl: recorder.url });
    const msgKey = await sendC2C(sim);
    sim.inject({ api: "modify_c2c_msg", kind: "reset-after-apply" });
    // Act
    const attempt = modifyC2C(sim, msgKey, { MsgBody: text("applied") });
    // Assess
    await expect(attempt).rejects.toThrow();
    expect(sim.c2cMessage("alice", "bob", msgKey)?.MsgBody).toEqual(text("applied"));
    expect(recorder.commands()).toEqual(["C2C.CallbackAfterSendMsg", "C2C.CallbackAfterModifyMsg"]);
    expect(sim.stats.applied.modify_c2c_msg).toBe(1);
  });

  it("reset-after-apply-silently: applied without callback or answer", async () => {
    // Prepare
    const recorder = await receiver();
    const sim = await simulator({ callbackUrl: recorder.url });
    const msgKey = await sendC2C(sim);
    sim.inject({ api: "modify_c2c_msg", kind: "reset-after-apply-silently" });
    // Act
    const attempt = modifyC2C(sim, msgKey, { MsgBody: text("silent") });
    // Assess
    await expect(attempt).rejects.toThrow();
    await sim.idle();
    expect(sim.c2cMessage("alice", "bob", msgKey)?.MsgBody).toEqual(text("silent"));
    expect(recorder.commands()).toEqual(["C2C.CallbackAfterSendMsg"]);
  });

  it("error-after-apply: applies and calls back, then answers the error code (60008 service timeout)", async () => {
    // Prepare
    const recorder = await receiver();
    const sim = await simulator({ callbackUrl: recorder.url });
    const msgKey = await sendC2C(sim);
    sim.inject({ api: "modify_c2c_msg", kind: "error-after-apply", code: 60008, info: "service timeout" });
    // Act
    const reply = await modifyC2C(sim, msgKey, { MsgBody: text("applied anyway") });
    // Assess
    expect(reply.json).toEqual({ ActionStatus: "FAIL", ErrorInfo: "service timeout", ErrorCode: 60008 });
    expect(sim.c2cMessage("alice", "bob", msgKey)?.MsgBody).toEqual(text("applied anyway"));
    expect(recorder.commands()).toEqual(["C2C.CallbackAfterSendMsg", "C2C.CallbackAfterModifyMsg"]);
    expect(sim.stats.applied.modify_c2c_msg).toBe(1);
    expect(sim.stats.faulted).toEqual({ modify_c2c_msg: 1 });
  });

  it("error-after-apply silently: applies without a callback, then answers the error code", async () => {
    // Prepare
    const recorder = await receiver();
    const sim = await simulator({ callbackUrl: recorder.url });
    const msgKey = await sendC2C(sim);
    sim.inject({ api: "modify_c2c_msg", kind: "error-after-apply", code: 70500, silently: true });
    // Act
    const reply = await modifyC2C(sim, msgKey, { MsgBody: text("quietly applied") });
    await sim.idle();
    // Assess
    expect(reply.json).toMatchObject({ ActionStatus: "FAIL", ErrorCode: 70500 });
    expect(sim.c2cMessage("alice", "bob", msgKey)?.MsgBody).toEqual(text("quietly applied"));
    expect(recorder.commands()).toEqual(["C2C.CallbackAfterSendMsg"]);
  });

  it("refuses error faults without an integer code", async () => {
    const sim = await simulator();
    expect(() => sim.inject({ kind: "error-after-apply", code: 1.5 })).toThrow(RangeError);
    expect(() => sim.inject({ kind: "error", code: Number.NaN })).toThrow(RangeError);
  });

  it("http-status: a gateway error page, nothing applied", async () => {
    // Prepare
    const sim = await simulator();
    const msgKey = await sendC2C(sim);
    sim.inject({ api: "modify_c2c_msg", kind: "http-status", status: 502 });
    // Act
    const reply = await modifyC2C(sim, msgKey);
    // Assess
    expect(reply.status).toBe(502);
    expect(reply.json).toEqual({});
    expect(reply.text).toContain("502");
    expect(sim.c2cMessage("alice", "bob", msgKey)?.modifications).toBe(0);
  });

  it("closes cleanly with a request still delayed, and close is idempotent", async () => {
    // Prepare
    const sim = await simulator();
    sim.inject({ kind: "delay", ms: 10_000 });
    const pending = call(sim, "openim/admin_getroammsg", roam());
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Act
    const started = performance.now();
    await Promise.all([sim.close(), sim.close()]);
    // Assess
    await expect(pending).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

/** An admin_getroammsg body over the whole test period (§5.4). */
function roam(overrides: Record<string, unknown> = {}) {
  return {
    Operator_Account: "alice",
    Peer_Account: "bob",
    MaxCnt: 100,
    MinTime: 0,
    MaxTime: 4_000_000_000,
    ...overrides,
  };
}
