import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { InProcessOutbox } from "../../../functions/adapters/outbox/in-process.ts";
import { SqliteStore } from "../../../functions/adapters/sqlite/store.ts";
import {
  BEFORE_SEND_DEADLINE_MS,
  type CallbackObserver,
  CallbackPipeline,
} from "../../../functions/core/callbacks.ts";
import type { DecideHook } from "../../../functions/core/decide.ts";
import { DurableRecorder, type SpooledCallback } from "../../../functions/core/durable.ts";
import { ForwardFailure } from "../../../functions/core/forwarding.ts";
import type { CallbackRequest } from "../../../functions/core/provider.ts";
import { Recorder } from "../../../functions/core/recorder.ts";
import type { Forward, ForwardAnswer, Forwarder, ForwardQueue } from "../../../functions/core/relay.ts";
import { createAppRelay, type ForwardFallback } from "../../../functions/core/relay-hook.ts";
import { RuleSet } from "../../../functions/core/rules/engine.ts";
import { fixedRules, rulesHook } from "../../../functions/core/rules/hook.ts";
import { createNeteaseProvider } from "../../../functions/providers/netease/provider.ts";
import { tencentCodec } from "../../../functions/providers/tencent/codec.ts";
import { fixture } from "../../helpers/fixtures.ts";
import { APP_KEY, APP_SECRET, copyRequest } from "../../helpers/netease.ts";
import { REDACT_PHONE } from "../../helpers/rules.ts";
import { callbackRequest, tencentProvider } from "../../helpers/tencent.ts";

const TEXT = (text: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: text } }];
const OK = { ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 };
const APP_URL = "https://app.example/im";
const tencent = tencentProvider({ forward: { url: APP_URL, token: "app-token" } });
const netease = createNeteaseProvider({
  appKey: APP_KEY,
  appSecret: APP_SECRET,
  maxSkewMs: 600_000,
  forward: { url: "https://app.example/copy", appSecret: APP_SECRET },
});

/** A callback as the recorder hands it over: the raw query and the provider's address too. */
function request(body: unknown, receivedAt = new Date()): CallbackRequest {
  const base = callbackRequest(body);
  const rawQuery = new URLSearchParams(base.query as Record<string, string>).toString();
  return { ...base, rawQuery, sourceIp: "203.0.113.9", receivedAt };
}

/** A unique C2C message: its before-send and after-send bodies. */
function c2c(text: string) {
  const MsgKey = `1_2_${randomUUID()}`;
  return {
    before: {
      ...fixture("tencent", "c2c-before-send"),
      MsgKey,
      MsgBody: TEXT(text),
      CloudCustomData: undefined,
    },
    after: (delivered: string) => ({
      ...fixture("tencent", "c2c-after-send"),
      MsgKey,
      MsgBody: TEXT(delivered),
      CloudCustomData: undefined,
    }),
  };
}

const RULES = RuleSet.parse({ rules: [REDACT_PHONE] });

describe("CallbackPipeline with the relay (issue 16)", () => {
  let store: SqliteStore;
  beforeAll(() => {
    store = new SqliteStore({ path: ":memory:" });
  });
  afterAll(() => store.close());

  /**
   * The pipeline as clients.ts wires it: the app hook first, then the real before-send rules; a queue that
   * keeps the forwards; the app's handler a fake forwarder answering `app`.
   */
  function relayed(
    options: {
      app?: (forwarded: number) => Promise<ForwardAnswer> | ForwardAnswer;
      queue?: ForwardQueue;
      fallback?: ForwardFallback;
      storeDelayMs?: number;
      spool?: (entry: SpooledCallback) => Promise<void>;
    } = {},
  ) {
    const order: string[] = [];
    const forwards: Forward[] = [];
    let sent = 0;
    const forwarder: Forwarder = {
      send: async () => {
        sent += 1;
        order.push("app");
        return (options.app ?? (() => json(OK)))(sent);
      },
    };
    const app = createAppRelay({
      relayOf: (provider) => (provider === "tencent" ? tencent.relay : undefined),
      forwarder,
      timeoutMs: 200,
      fallback: options.fallback ?? { action: "allow" },
    });
    const rules = rulesHook({ rules: fixedRules(RULES), codecOf: () => tencentCodec });
    const ruleCalls = vi.fn();
    const rulesSpy: DecideHook = {
      ...rules,
      decide: (context) => {
        ruleCalls(context.content);
        order.push("rules");
        return rules.decide(context);
      },
    };
    const recorder = new Recorder(store);
    const record = recorder.record.bind(recorder);
    vi.spyOn(recorder, "record").mockImplementation(async (event) => {
      if (options.storeDelayMs) await new Promise((resolve) => setTimeout(resolve, options.storeDelayMs));
      order.push("record");
      return record(event);
    });
    const durable = new DurableRecorder(recorder, { enqueue: options.spool ?? (async () => {}) }, 1_000);
    const queue: ForwardQueue = options.queue ?? {
      enqueue: async (forward) => {
        order.push("forward");
        forwards.push(forward);
      },
    };
    const observer = {
      forwardLost: vi.fn(),
      unread: vi.fn(),
      hookSkipped: vi.fn(),
    } satisfies CallbackObserver;
    const pipeline = new CallbackPipeline({
      durable,
      outbox: new InProcessOutbox([() => void order.push("publish")]),
      hooks: [app.hook, rulesSpy],
      decideBudgetMs: 200 + 50 + 200,
      observer,
      relay: { queue, answer: app.answer, beforeSendDeadlineMs: BEFORE_SEND_DEADLINE_MS },
    });
    return { pipeline, order, forwards, observer, ruleCalls, sentToApp: () => sent };
  }

  const json = (body: unknown, status = 200): ForwardAnswer => ({
    status,
    body: Buffer.from(typeof body === "string" ? body : JSON.stringify(body)),
  });
  const history = async (id: string) =>
    (await store.listVersions(id, { limit: 10 })).items.map((v) => ({
      version: v.version,
      source: v.source,
      ...(v.ruleId !== undefined ? { ruleId: v.ruleId } : {}),
      text: (v.content.MsgBody as { MsgContent: { Text: string } }[])[0]?.MsgContent.Text,
    }));

  describe("every other callback: recorded, then queued for the app, then answered", () => {
    it("an after-send: forwarded once, after the record and before the answer, naming the recorded message", async () => {
      // Prepare
      const { pipeline, order, forwards } = relayed();
      const callback = request(c2c("hello").after("hello"));

      // Act
      const outcome = await pipeline.handle(tencent, callback);

      // Assess: the provider's bytes and query as received, the recorded id, the provider's usual answer.
      expect(order).toEqual(["record", "forward", "publish"]);
      expect(outcome).toMatchObject({ outcome: "stored", applied: ["created"], reply: tencent.ack });
      const [forward] = forwards;
      expect(forwards).toHaveLength(1);
      expect(forward).toMatchObject({
        provider: "tencent",
        rawQuery: callback.rawQuery,
        sourceIp: "203.0.113.9",
        messageId: outcome.events[0]?.type === "sent" ? outcome.events[0].message.id : "?",
      });
      expect(Buffer.from(forward?.body ?? "", "base64").equals(callback.body)).toBe(true);
    });

    it("a spooled callback is queued too (naming the message it will be); an ignored one without a message", async () => {
      const spooling = relayed({ storeDelayMs: 1_500 });
      const spooled = await spooling.pipeline.handle(tencent, request(c2c("x").after("x")));
      expect(spooled.outcome).toBe("spooled");
      expect(spooling.forwards[0]?.messageId).toMatch(/^c2c_/);

      const { pipeline, forwards } = relayed();
      const ignored = await pipeline.handle(
        tencent,
        request({ CallbackCommand: "State.StateChange", Info: {} }),
      );
      expect(ignored.outcome).toBe("ignored");
      expect(forwards).toHaveLength(1);
      expect(forwards[0]).not.toHaveProperty("messageId");
    });

    it("a recall of a message im-edit never saw and cannot record: queued without a message id", async () => {
      const { pipeline, forwards } = relayed();
      const recall = { ...fixture("netease", "synthetic-recall-p2p"), deleteMsgid: String(Date.now()) };

      const outcome = await pipeline.handle(netease, copyRequest(recall));

      expect(outcome.applied).toEqual(["unmatched"]);
      expect(forwards).toHaveLength(1);
      expect(forwards[0]).not.toHaveProperty("messageId");
    });

    it("a forward that cannot be queued is reported (ForwardLost); the provider gets its answer all the same", async () => {
      const queue: ForwardQueue = {
        enqueue: async () => {
          throw new Error("queue down");
        },
      };
      const { pipeline, observer } = relayed({ queue });

      const outcome = await pipeline.handle(tencent, request(c2c("y").after("y")));

      expect(outcome).toMatchObject({ outcome: "stored", reply: tencent.ack });
      expect(observer.forwardLost).toHaveBeenCalledWith(
        "tencent",
        expect.objectContaining({ message: "queue down" }),
      );
    });

    it("what im-edit cannot read is forwarded all the same, then refused as before (400)", async () => {
      const { pipeline, forwards, observer } = relayed();
      const bad = request({ ...c2c("z").after("z"), MsgBody: "not a list" });

      await expect(pipeline.handle(tencent, bad)).rejects.toMatchObject({ name: "BadRequestError" });
      expect(forwards).toHaveLength(1);
      expect(observer.unread).toHaveBeenCalledWith(
        "tencent",
        expect.objectContaining({ name: "BadRequestError" }),
      );
    });

    it("neither stored nor spooled (the provider gets an error): the app still gets the callback", async () => {
      const { pipeline, forwards } = relayed({
        storeDelayMs: 1_500,
        spool: async () => {
          throw new Error("spool down");
        },
      });
      await expect(pipeline.handle(tencent, request(c2c("w").after("w")))).rejects.toThrow("spool down");
      expect(forwards).toHaveLength(1);
    });

    it("a callback that fails verification is never forwarded", async () => {
      const { pipeline, forwards } = relayed();
      const foreign = request(c2c("v").after("v"));
      await expect(
        pipeline.handle(tencent, { ...foreign, query: { ...foreign.query, SdkAppid: "1400000999" } }),
      ).rejects.toMatchObject({ name: "ForbiddenError" });
      expect(forwards).toEqual([]);
    });

    it("NetEase copies: forwarded with Yunxin's signature headers", async () => {
      const { pipeline, forwards } = relayed();
      const copy = copyRequest({ ...fixture("netease", "copy-p2p-text"), msgidServer: String(Date.now()) });

      const outcome = await pipeline.handle(netease, copy);

      expect(outcome.reply).toEqual(netease.ack);
      expect(forwards[0]?.headers).toEqual({
        appkey: APP_KEY,
        curtime: copy.headers.curtime,
        md5: copy.headers.md5,
        checksum: copy.headers.checksum,
      });
      expect(forwards[0]?.messageId).toMatch(/^nim_/);
    });
  });

  describe("before-send: the app decides first, the rules after it; nothing queued", () => {
    it("history: version 1 what the sender typed, then the app's rewrite (app), then the rule's (auto + ruleId)", async () => {
      // Prepare: the app softens the text, the rule then redacts the number it kept.
      const { pipeline, order, forwards, ruleCalls } = relayed({
        app: () => json({ ...OK, MsgBody: TEXT("please call 13812345678") }),
      });
      const message = c2c("CALL 13812345678 NOW");

      // Act
      const before = await pipeline.handle(tencent, request(message.before));
      const after = await pipeline.handle(tencent, request(message.after("please call ***")));

      // Assess: Tencent delivers both rewrites; the rules saw the app's content.
      expect(order.slice(0, 3)).toEqual(["app", "rules", "record"]);
      expect(ruleCalls).toHaveBeenCalledWith({ MsgBody: TEXT("please call 13812345678") });
      expect(before.reply.body).toEqual({ ...OK, MsgBody: TEXT("please call ***") });
      expect(before.decided?.by).toEqual(["app", "rules"]);
      // The before-send itself is not queued (the app answered it); its after-send is.
      expect(
        forwards.map((forward) => JSON.parse(Buffer.from(forward.body, "base64").toString()).CallbackCommand),
      ).toEqual(["C2C.CallbackAfterSendMsg"]);
      const id = after.events[0]?.type === "sent" ? after.events[0].message.id : "";
      expect(await history(id)).toEqual([
        { version: 1, source: "callback", text: "CALL 13812345678 NOW" },
        { version: 2, source: "app", text: "please call 13812345678" },
        { version: 3, source: "auto", ruleId: "redact-phone", text: "please call ***" },
      ]);
      expect((await store.getHead(id))?.content).toEqual({ MsgBody: TEXT("please call ***") });
    });

    it("the app allows: the rules still apply to the message as sent", async () => {
      const { pipeline } = relayed();
      const outcome = await pipeline.handle(tencent, request(c2c("ring 13812345678").before));
      expect(outcome.reply.body).toEqual({ ...OK, MsgBody: TEXT("ring ***") });
      expect(outcome.decided?.by).toEqual(["rules"]);
    });

    it("the app blocks: refused with its code and words, no rule runs, recorded as failed", async () => {
      const { pipeline, ruleCalls } = relayed({
        app: () => json({ ActionStatus: "OK", ErrorCode: 120_003, ErrorInfo: "muted" }),
      });
      const outcome = await pipeline.handle(tencent, request(c2c("13812345678").before));
      expect(outcome.reply.body).toEqual({ ActionStatus: "OK", ErrorCode: 120_003, ErrorInfo: "muted" });
      expect(ruleCalls).not.toHaveBeenCalled();
      const id = outcome.events[0]?.type === "pending" ? outcome.events[0].message.id : "";
      expect(await store.getHead(id)).toMatchObject({ state: "failed", sendError: { code: 120_003 } });
    });

    it("the app drops a group message: discarded silently (ErrorCode 2)", async () => {
      const { pipeline } = relayed({ app: () => json({ ...OK, ErrorCode: 2 }) });
      const group = {
        ...fixture("tencent", "group-before-send"),
        Random: Math.floor(Math.random() * 2 ** 31),
      };
      const outcome = await pipeline.handle(tencent, request(group));
      expect(outcome.reply.body).toEqual({ ActionStatus: "OK", ErrorInfo: "", ErrorCode: 2 });
    });

    it("the app is down: the fallback policy (block with its code), rules skipped", async () => {
      const { pipeline, ruleCalls } = relayed({
        fallback: { action: "block", code: 120_009 },
        app: () => Promise.reject(new ForwardFailure(true, { code: "unreachable", message: "refused" })),
      });
      const outcome = await pipeline.handle(tencent, request(c2c("hi").before));
      expect(outcome.reply.body).toMatchObject({ ErrorCode: 120_009 });
      expect(ruleCalls).not.toHaveBeenCalled();
    });

    it("a before-send im-edit does not read (a live group it skips): the app's own answer, for the group", async () => {
      const { pipeline, forwards, ruleCalls, sentToApp } = relayed({
        app: () => json({ ...OK, ErrorCode: 2 }),
      });
      const live = {
        ...fixture("tencent", "group-before-send"),
        Type: "AVChatRoom",
        Random: Math.floor(Math.random() * 2 ** 31),
      };

      const outcome = await pipeline.handle(tencent, request(live));

      expect(sentToApp()).toBe(1);
      expect(outcome).toMatchObject({
        outcome: "ignored",
        decided: { decision: { action: "drop" }, by: ["app"] },
      });
      expect(outcome.reply.body).toEqual({ ActionStatus: "OK", ErrorInfo: "", ErrorCode: 2 });
      expect(ruleCalls).not.toHaveBeenCalled();
      expect(forwards).toEqual([]);
    });

    it("a before-send im-edit cannot parse: answered with the app's decision instead of a 400", async () => {
      const { pipeline, observer } = relayed({ app: () => json({ ...OK, ErrorCode: 1, ErrorInfo: "no" }) });
      const bad = { ...c2c("q").before, MsgBody: "not a list" };

      const outcome = await pipeline.handle(tencent, request(bad));

      expect(outcome.reply.body).toEqual({ ActionStatus: "OK", ErrorCode: 1, ErrorInfo: "no" });
      expect(observer.unread).toHaveBeenCalledOnce();
    });
  });

  describe("budgets: the whole before-send inside Tencent's 2 s", () => {
    it("a before-send's store gets what is left of 1800 ms since it arrived, then the callback is spooled", async () => {
      // Prepare: the hooks took most of the time already; the store would take 300 ms (its budget is 1 s).
      const spooled: SpooledCallback[] = [];
      const { pipeline } = relayed({ storeDelayMs: 300, spool: async (entry) => void spooled.push(entry) });
      const late = request(c2c("late").before, new Date(Date.now() - (BEFORE_SEND_DEADLINE_MS - 100)));

      // Act
      const started = performance.now();
      const outcome = await pipeline.handle(tencent, late);

      // Assess
      expect(performance.now() - started).toBeLessThan(290);
      expect(outcome.outcome).toBe("spooled");
      expect(spooled).toHaveLength(1);
    });

    it("other callbacks keep the store's whole budget", async () => {
      const { pipeline } = relayed({ storeDelayMs: 300 });
      const old = request(c2c("old").after("old"), new Date(Date.now() - 10_000));
      expect((await pipeline.handle(tencent, old)).outcome).toBe("stored");
    });
  });
});
