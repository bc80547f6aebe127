import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type RateSlot, SlidingWindowLimiter } from "../../../../functions/core/limiter.ts";
import type { ObservedMessage } from "../../../../functions/core/model.ts";
import type { HistoryItem, HistoryQuery, ProviderEditor } from "../../../../functions/core/provider.ts";
import { createTencentEditor } from "../../../../functions/providers/tencent/editor.ts";
import { TencentRestClient } from "../../../../functions/providers/tencent/rest.ts";
import { UserSigCache } from "../../../../functions/providers/tencent/usersig.ts";
import { TencentSimulator } from "../../../../local/simulators/tencent/api.ts";
import { APP_ID, callbackRequest, tencentProvider } from "../../../helpers/tencent.ts";

const KEY = "history-provider-test-key";
const ADMIN = "administrator";
const text = (value: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: value } }];

/** A limiter that records the keys of the slots it grants: every history call must take one. */
class RecordingLimiter extends SlidingWindowLimiter {
  readonly granted: string[] = [];
  constructor() {
    super(() => ({ limit: 1000, windowMs: 1000 }));
  }
  override acquire(key: string, maxWaitMs: number): Promise<RateSlot> {
    this.granted.push(key);
    return super.acquire(key, maxWaitMs);
  }
}

const closing: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const item of closing.splice(0)) await item.close();
});

/** The simulator (clock moved by the tests), its callbacks collected, the editor and the app's REST client. */
async function setup() {
  const callbacks: unknown[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      callbacks.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      res.writeHead(200, { "content-type": "application/json" }).end('{"ActionStatus":"OK","ErrorCode":0}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const clock = { ms: Math.floor(Date.now() / 1000) * 1000 - 600_000 };
  const sim = await TencentSimulator.start({
    sdkAppId: APP_ID,
    secretKey: KEY,
    adminIdentifier: ADMIN,
    callbackUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    now: () => clock.ms,
  });
  closing.push(sim, { close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
  const limiter = new RecordingLimiter();
  const rest = new TencentRestClient({
    baseUrl: sim.url,
    sdkAppId: APP_ID,
    identifier: ADMIN,
    userSig: new UserSigCache(APP_ID, KEY, ADMIN),
    limiter,
  });
  const editor = createTencentEditor({ sdkAppId: APP_ID, rest });
  const call = (service: string, command: string, body: unknown) =>
    rest.call(service, command, body, { deadline: Date.now() + 5_000, resendAfterSend: false });
  return { sim, clock, callbacks, limiter, editor, call };
}

/** Every page of a history query; the page sizes beside the items. */
async function readAll(editor: ProviderEditor, query: HistoryQuery) {
  const items: HistoryItem[] = [];
  const sizes: number[] = [];
  let token: string | undefined;
  do {
    const page = await editor.history?.(query, token, Date.now() + 5_000);
    if (!page) throw new Error("no history");
    items.push(...page.items);
    sizes.push(page.items.length);
    token = page.nextToken;
  } while (token !== undefined && sizes.length < 50);
  return { items, sizes };
}

/** What the callback path observes for each after-send callback the simulator sent, by id. */
function observedByCallbacks(callbacks: readonly unknown[]): Map<string, ObservedMessage> {
  const provider = tencentProvider();
  const out = new Map<string, ObservedMessage>();
  for (const body of callbacks) {
    for (const event of provider.interpret(callbackRequest(body))) {
      if (event.type === "sent") out.set(event.message.id, event.message);
    }
  }
  return out;
}

describe("Tencent history (reconcile's reading)", () => {
  it("pages a C2C pair through admin_getroammsg: several pages, every call rate-limited, ids as the callbacks give", async () => {
    // Prepare: 250 messages both ways, 5 per second.
    const { clock, callbacks, limiter, editor, call } = await setup();
    const since = clock.ms;
    for (let i = 0; i < 250; i++) {
      if (i % 5 === 0) clock.ms += 1000;
      const [from, to] = i % 3 === 0 ? ["bob", "alice"] : ["alice", "bob"];
      await call("openim", "sendmsg", {
        From_Account: from,
        To_Account: to,
        MsgRandom: i,
        MsgSeq: i + 1,
        MsgBody: text(`hello ${i} ${"y".repeat(60)}`),
        ...(i === 7 ? { CloudCustomData: '{"k":"v"}' } : {}),
      });
    }
    limiter.granted.length = 0;

    // Act
    const { items, sizes } = await readAll(editor, { pair: ["alice", "bob"], since, until: clock.ms + 1000 });

    // Assess
    expect(sizes.length).toBeGreaterThanOrEqual(3);
    expect(items).toHaveLength(250);
    expect(limiter.granted).toEqual(sizes.map(() => `tencent:${APP_ID}:admin_getroammsg`));
    const viaCallbacks = observedByCallbacks(callbacks);
    expect(viaCallbacks.size).toBe(250);
    for (const item of items) {
      const observed = viaCallbacks.get(item.message.id);
      // Same id, lookup key, conversation, sender and send time; the key lacks only what history omits (MsgId).
      const { msgId: _msgId, ...key } = observed?.key ?? {};
      expect(item.message).toEqual({ ...observed, key });
      expect(item.state).toBe("sent");
    }
    const custom = items.find((item) => item.content.CloudCustomData !== undefined);
    expect(custom?.content).toEqual({
      MsgBody: text(`hello 7 ${"y".repeat(60)}`),
      CloudCustomData: '{"k":"v"}',
    });
  });

  it("keeps [since, until) at Tencent's one-second precision, and shows recalled messages as recalled", async () => {
    // Prepare: one message in each of five seconds s0..s4; the one of s2 recalled.
    const { clock, editor, call } = await setup();
    const s0 = clock.ms / 1000 + 1;
    const keys: string[] = [];
    for (let i = 0; i < 5; i++) {
      clock.ms += 1000;
      const reply = await call("openim", "sendmsg", {
        From_Account: "alice",
        To_Account: "bob",
        MsgRandom: i,
        MsgBody: text(`s${i}`),
      });
      keys.push(String(reply.MsgKey));
    }
    await call("openim", "admin_msgwithdraw", { From_Account: "alice", To_Account: "bob", MsgKey: keys[2] });

    // Act: since inside s1 (its second is in), until inside s4 (its second is out).
    const { items } = await readAll(editor, {
      pair: ["bob", "alice"],
      since: (s0 + 1) * 1000 + 500,
      until: (s0 + 4) * 1000 + 999,
    });
    const exact = await readAll(editor, {
      pair: ["alice", "bob"],
      since: (s0 + 1) * 1000,
      until: (s0 + 2) * 1000,
    });
    const empty = await readAll(editor, {
      pair: ["alice", "bob"],
      since: (s0 + 1) * 1000 + 1,
      until: (s0 + 1) * 1000 + 900,
    });

    // Assess
    expect(items.map((item) => [item.message.key.msgKey, item.state])).toEqual([
      [keys[3], "sent"],
      [keys[2], "recalled"],
      [keys[1], "sent"],
    ]);
    expect(exact.items.map((item) => item.message.key.msgKey)).toEqual([keys[1]]);
    expect(empty.items).toEqual([]);
  });

  it("pages a group and a topic backwards through group_msg_get_simple, stopping below since", async () => {
    // Prepare
    const { sim, clock, callbacks, limiter, editor, call } = await setup();
    sim.createGroup("@TGS#_community", "Community");
    clock.ms += 1000;
    await call("group_open_http_svc", "send_group_msg", {
      GroupId: "@TGS#_community",
      Random: 1,
      MsgBody: text("before"),
    });
    clock.ms += 1000;
    const since = clock.ms;
    for (let i = 0; i < 45; i++) {
      await call("group_open_http_svc", "send_group_msg", {
        GroupId: "@TGS#_community",
        From_Account: `user${i % 3}`,
        Random: 100 + i,
        MsgBody: text(`g${i}`),
      });
    }
    await call("group_open_http_svc", "send_group_msg", {
      GroupId: "@TGS#_community",
      TopicId: "@TGS#_community@TOPIC#_t1",
      Random: 7,
      MsgBody: text("in topic"),
    });
    await call("group_open_http_svc", "group_msg_recall", {
      GroupId: "@TGS#_community",
      MsgSeqList: [{ MsgSeq: 10 }],
    });
    clock.ms += 1000;
    limiter.granted.length = 0;

    // Act
    const group = await readAll(editor, { groupId: "@TGS#_community", since, until: clock.ms });
    const topic = await readAll(editor, {
      groupId: "@TGS#_community",
      topicId: "@TGS#_community@TOPIC#_t1",
      since,
      until: clock.ms,
    });

    // Assess: seqs 46..2 (seq 1 is before since), in pages of 20 (the last one finds seq 1 and stops).
    expect(group.items.map((item) => Number(item.message.key.msgSeq))).toEqual(
      Array.from({ length: 45 }, (_, i) => 46 - i),
    );
    expect(group.sizes).toEqual([20, 20, 5]);
    expect(group.items.find((item) => item.message.key.msgSeq === "10")?.state).toBe("recalled");
    expect(limiter.granted.every((key) => key === `tencent:${APP_ID}:group_msg_get_simple`)).toBe(true);
    const viaCallbacks = observedByCallbacks(callbacks);
    for (const item of [...group.items, ...topic.items]) {
      const observed = viaCallbacks.get(item.message.id);
      const { msgId: _msgId, groupType: _groupType, ...key } = observed?.key ?? {};
      // The callback's operator (the admin who called send_group_msg) is not in the history.
      const { operator: _operator, ...message } = observed ?? ({} as ObservedMessage);
      expect(item.message).toEqual({ ...message, key });
    }
    expect(topic.items.map((item) => [item.message.conversation, item.content])).toEqual([
      ["group:%40TGS%23_community:%40TGS%23_community%40TOPIC%23_t1", { MsgBody: text("in topic") }],
    ]);
  });

  it("refuses what it cannot page: a topic on a pair, a foreign page token", async () => {
    // Prepare
    const { editor } = await setup();

    // Act
    const problem = editor.historyProblem?.({ pair: ["a", "b"], topicId: "t", since: 0, until: 1000 });
    const badToken = editor.history?.(
      { pair: ["a", "b"], since: 0, until: 10_000 },
      "bm90IGEgdG9rZW4",
      Date.now() + 5_000,
    );

    // Assess
    expect(problem).toMatch(/topicId/);
    await expect(badToken).rejects.toMatchObject({ name: "BadRequestError" });
  });
});
