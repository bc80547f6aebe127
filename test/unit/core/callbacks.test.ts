import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { InProcessOutbox } from "../../../functions/adapters/outbox/in-process.ts";
import { SqliteStore } from "../../../functions/adapters/sqlite/store.ts";
import { domainEvents } from "../../../functions/core/callback-outcomes.ts";
import { type CallbackObserver, CallbackPipeline } from "../../../functions/core/callbacks.ts";
import type { DecideHook, Decision } from "../../../functions/core/decide.ts";
import { DurableRecorder, type SpooledCallback } from "../../../functions/core/durable.ts";
import type { DomainEvent, Outbox } from "../../../functions/core/outbox.ts";
import type { CallbackProvider, CallbackRequest } from "../../../functions/core/provider.ts";
import { Recorder } from "../../../functions/core/recorder.ts";
import { fixture } from "../../helpers/fixtures.ts";
import { copyRequest, neteaseProvider } from "../../helpers/netease.ts";
import { callbackRequest, tencentProvider } from "../../helpers/tencent.ts";

const TEXT = (text: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: text } }];

/** A unique C2C message: before-send, after-send and after-modify bodies for it. */
function c2c(text = "hello") {
  const msgKey = `1_2_${randomUUID()}`;
  const base = { ...fixture("tencent", "c2c-before-send"), MsgKey: msgKey, MsgBody: TEXT(text) };
  return {
    before: { ...base, CallbackCommand: "C2C.CallbackBeforeSendMsg" },
    after: { ...fixture("tencent", "c2c-after-send"), MsgKey: msgKey, MsgBody: TEXT(text) },
    modify: (next: string) => ({
      ...fixture("tencent", "c2c-after-modify"),
      MsgKey: msgKey,
      MsgBody: TEXT(next),
      EventTime: Date.now() + 1000,
    }),
  };
}

function groupBefore(text = "hello") {
  return {
    ...fixture("tencent", "group-before-send"),
    Random: Math.floor(Math.random() * 2 ** 31),
    MsgBody: TEXT(text),
  };
}

/** A hook deciding what the test says, counting its calls and what it saw. */
function hook(
  name: string,
  answer: (content: Record<string, unknown>) => Promise<Decision | undefined> | Decision | undefined,
  budgetMs = 200,
) {
  const seen: Record<string, unknown>[] = [];
  const h: DecideHook & { seen: typeof seen } = {
    name,
    budgetMs,
    seen,
    decide: async (context) => {
      seen.push(context.content as Record<string, unknown>);
      return answer(context.content as Record<string, unknown>);
    },
  };
  return h;
}

describe("CallbackPipeline: verify → interpret → decide → record → publish", () => {
  let store: SqliteStore;
  beforeAll(() => {
    store = new SqliteStore({ path: ":memory:" });
  });
  afterAll(() => store.close());

  const tencent = tencentProvider();

  function pipeline(
    options: {
      hooks?: DecideHook[];
      outbox?: Outbox;
      observer?: CallbackObserver;
      decideBudgetMs?: number;
    } = {},
  ) {
    const durable = new DurableRecorder(new Recorder(store), { enqueue: async () => {} }, 1_000);
    const observer = options.observer ?? {
      hookSkipped: vi.fn(),
      publishFailed: vi.fn(),
      replyFailed: vi.fn(),
    };
    const outbox = options.outbox ?? new InProcessOutbox();
    return {
      pipeline: new CallbackPipeline({ durable, outbox, observer, ...options }),
      observer,
      outbox,
    };
  }

  it("runs the stages in order: verify, interpret, decide, record, publish, then the reply", async () => {
    // Prepare: a provider and hook that note when they run, a store and outbox that do too.
    const order: string[] = [];
    const provider: CallbackProvider = {
      ...tencent,
      verify: (request) => {
        order.push("verify");
        tencent.verify(request);
      },
      interpret: (request) => {
        order.push("interpret");
        return tencent.interpret(request);
      },
      reply: (decision, message) => {
        order.push(`reply:${decision.action}`);
        return tencent.reply(decision, message);
      },
    };
    const recorder = new Recorder(store);
    const record = recorder.record.bind(recorder);
    vi.spyOn(recorder, "record").mockImplementation(async (event) => {
      order.push("record");
      return record(event);
    });
    const durable = new DurableRecorder(recorder, { enqueue: async () => {} }, 1_000);
    const outbox = new InProcessOutbox([() => void order.push("publish")]);
    const decider = hook("rule", () => {
      order.push("decide");
      return undefined;
    });
    const stages = new CallbackPipeline({ durable, outbox, hooks: [decider] });

    // Act
    const outcome = await stages.handle(provider, callbackRequest(c2c().before));

    // Assess: the reply is rendered once the decision is known, and answered after publish.
    expect(order).toEqual(["verify", "interpret", "decide", "reply:allow", "record", "publish"]);
    expect(outcome).toMatchObject({
      outcome: "stored",
      applied: ["created"],
      decided: { decision: { action: "allow" } },
    });
  });

  it("refuses before interpreting or deciding when verification fails", async () => {
    // Prepare
    const decider = hook("rule", () => undefined);
    const { pipeline: stages } = pipeline({ hooks: [decider] });
    const request = callbackRequest(c2c().before, { SdkAppid: "1400000999" });

    // Act / Assess
    await expect(stages.handle(tencent, request)).rejects.toMatchObject({ name: "ForbiddenError" });
    expect(decider.seen).toEqual([]);
  });

  describe("decide: budgeted hooks on before-send callbacks", () => {
    it("runs no hook on other callbacks (after-send)", async () => {
      const decider = hook("rule", () => ({ action: "block", info: "no" }));
      const { pipeline: stages } = pipeline({ hooks: [decider] });

      const outcome = await stages.handle(tencent, callbackRequest(c2c().after));

      expect(decider.seen).toEqual([]);
      expect(outcome.decided).toBeUndefined();
      expect(outcome.reply).toEqual({
        status: 200,
        body: { ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 },
      });
    });

    it("allow (and no answer) lets the next hook run, and Tencent gets ErrorCode 0", async () => {
      const first = hook("app", () => ({ action: "allow" }));
      const second = hook("rule", () => undefined);
      const { pipeline: stages } = pipeline({ hooks: [first, second] });

      const outcome = await stages.handle(tencent, callbackRequest(c2c().before));

      expect(second.seen).toHaveLength(1);
      expect(outcome.reply.body).toEqual({ ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 });
    });

    it("block: the first hook that blocks wins, no later hook runs; the app's code goes through in Tencent's C2C range", async () => {
      // Prepare
      const blocker = hook("app", () => ({ action: "block", code: 120_005, info: "not on my watch" }));
      const later = hook("rule", () => ({ action: "drop" }));
      const { pipeline: stages } = pipeline({ hooks: [blocker, later] });
      const message = c2c();

      // Act
      const outcome = await stages.handle(tencent, callbackRequest(message.before));

      // Assess: refused with the app's code, recorded as failed with the sender's content.
      expect(later.seen).toEqual([]);
      expect(outcome.reply.body).toEqual({
        ActionStatus: "OK",
        ErrorInfo: "not on my watch",
        ErrorCode: 120_005,
      });
      const id = outcome.events[0]?.type === "pending" ? outcome.events[0].message.id : "";
      const head = await store.getHead(id);
      expect(head).toMatchObject({
        state: "failed",
        content: { MsgBody: TEXT("hello") },
        sendError: { code: 120_005 },
      });
    });

    it("block with a code Tencent does not pass through is the generic refusal (ErrorCode 1)", async () => {
      const { pipeline: stages } = pipeline({
        hooks: [hook("app", () => ({ action: "block", code: 10_150, info: "x" }))],
      });

      const c2cOutcome = await stages.handle(tencent, callbackRequest(c2c().before));
      const groupOutcome = await stages.handle(tencent, callbackRequest(groupBefore()));

      expect(c2cOutcome.reply.body).toMatchObject({ ErrorCode: 1, ErrorInfo: "x" });
      // 10100-10200 is the group range: there it goes through.
      expect(groupOutcome.reply.body).toMatchObject({ ErrorCode: 10_150, ErrorInfo: "x" });
    });

    it("drop: a group message is discarded silently (ErrorCode 2); a C2C one is refused (no silent drop documented)", async () => {
      const { pipeline: stages } = pipeline({ hooks: [hook("rule", () => ({ action: "drop" }))] });

      const group = await stages.handle(tencent, callbackRequest(groupBefore()));
      const direct = await stages.handle(tencent, callbackRequest(c2c().before));

      expect(group.reply.body).toEqual({ ActionStatus: "OK", ErrorInfo: "", ErrorCode: 2 });
      expect(direct.reply.body).toEqual({ ActionStatus: "OK", ErrorInfo: "", ErrorCode: 1 });
      const id = group.events[0]?.type === "pending" ? group.events[0].message.id : "";
      expect(await store.getHead(id)).toMatchObject({ state: "failed", sendError: { code: 2 } });
    });

    it("rewrite: rewrites chain (each hook sees the previous one), the reply carries them, the record keeps the original beside them", async () => {
      // Prepare
      const first = {
        ...hook("app", () => ({ action: "rewrite", content: { MsgBody: TEXT("hello, edited") } })),
        source: "app" as const,
      };
      const second = hook("rule", (content) => ({
        action: "rewrite",
        content: { CloudCustomData: `{"seen":${JSON.stringify(content.MsgBody)}}` },
        ruleId: "mark",
      }));
      const { pipeline: stages } = pipeline({ hooks: [first, second] });

      // Act
      const outcome = await stages.handle(tencent, callbackRequest(c2c().before));

      // Assess
      expect(second.seen[0]).toMatchObject({ MsgBody: TEXT("hello, edited") });
      const custom = `{"seen":${JSON.stringify(TEXT("hello, edited"))}}`;
      expect(outcome.reply.body).toEqual({
        ActionStatus: "OK",
        ErrorInfo: "",
        ErrorCode: 0,
        MsgBody: TEXT("hello, edited"),
        CloudCustomData: custom,
      });
      expect(outcome.decided?.by).toEqual(["app", "rule"]);
      const id = outcome.events[0]?.type === "pending" ? outcome.events[0].message.id : "";
      const head = await store.getHead(id);
      expect(head?.state).toBe("pending");
      expect(head?.content).toMatchObject({ MsgBody: TEXT("hello") });
      const edited = { ...head?.content, MsgBody: TEXT("hello, edited") };
      expect(head?.rewrite).toEqual({
        content: { ...edited, CloudCustomData: custom },
        by: ["app", "rule"],
        ruleId: "mark",
        // Each step whole, in order: the after-send makes a version of each.
        steps: [
          { content: edited, source: "app", by: "app" },
          { content: { ...edited, CloudCustomData: custom }, source: "auto", ruleId: "mark", by: "rule" },
        ],
      });
    });

    it("a rewrite Tencent cannot take is reported and the message allowed as sent", async () => {
      const observer = { replyFailed: vi.fn() };
      const { pipeline: stages } = pipeline({
        observer,
        hooks: [hook("rule", () => ({ action: "rewrite", content: { MsgBody: "not a list" } }))],
      });

      const outcome = await stages.handle(tencent, callbackRequest(c2c().before));

      expect(outcome.reply.body).toEqual({ ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 });
      expect(outcome.decided?.decision).toEqual({ action: "allow" });
      expect(observer.replyFailed).toHaveBeenCalledOnce();
    });

    it("a hook that throws, answers garbage or overruns its budget is skipped and reported; the next decides", async () => {
      // Prepare
      const observer = { hookSkipped: vi.fn() };
      let aborted = false;
      const slow = hook(
        "slow",
        () =>
          new Promise<Decision>((resolve) =>
            setTimeout(() => resolve({ action: "block", info: "late" }), 500),
          ),
        30,
      );
      const watching: DecideHook = {
        name: "watching",
        budgetMs: 20,
        decide: (context) =>
          new Promise((resolve) => {
            context.signal.addEventListener("abort", () => {
              aborted = true;
              resolve(undefined);
            });
          }),
      };
      const throws = hook("throws", () => {
        throw new Error("boom");
      });
      const garbage = hook("garbage", () => ({ action: "explode" }) as unknown as Decision);
      const blocker = hook("last", () => ({ action: "block", info: "from last" }));
      const { pipeline: stages } = pipeline({ observer, hooks: [slow, watching, throws, garbage, blocker] });

      // Act
      const started = Date.now();
      const outcome = await stages.handle(tencent, callbackRequest(c2c().before));

      // Assess
      expect(Date.now() - started).toBeLessThan(400);
      expect(outcome.reply.body).toMatchObject({ ErrorCode: 1, ErrorInfo: "from last" });
      expect(observer.hookSkipped.mock.calls.map(([name, reason]) => `${name}:${reason}`)).toEqual([
        "slow:timeout",
        "watching:timeout",
        "throws:threw",
        "garbage:invalid",
      ]);
      expect(aborted).toBe(true);
    });

    it("the hooks share one budget: a hook with no time left is skipped", async () => {
      const observer = { hookSkipped: vi.fn() };
      const slow = hook(
        "slow",
        () => new Promise((resolve) => setTimeout(() => resolve(undefined), 200)),
        1_000,
      );
      const never = hook("never", () => ({ action: "block", info: "x" }));
      const { pipeline: stages } = pipeline({ observer, hooks: [slow, never], decideBudgetMs: 50 });

      const outcome = await stages.handle(tencent, callbackRequest(c2c().before));

      expect(outcome.reply.body).toMatchObject({ ErrorCode: 0 });
      expect(never.seen).toEqual([]);
      expect(observer.hookSkipped.mock.calls.map(([name, reason]) => `${name}:${reason}`)).toEqual([
        "slow:timeout",
        "never:timeout",
      ]);
    });
  });

  describe("reply: rendered by the provider", () => {
    it("NetEase copies have no before-send: always the ack", () => {
      const netease = neteaseProvider();
      const block: Decision = { action: "block", info: "x" };
      for (const decision of [{ action: "allow" } as const, block, { action: "drop" } as const]) {
        expect(netease.reply(decision)).toEqual({ status: 200, body: { code: 200 } });
      }
    });

    it("Tencent: allow is the ack, a rewrite of custom data alone sends CloudCustomData only", () => {
      expect(tencent.reply({ action: "allow" })).toEqual(tencent.ack);
      expect(tencent.reply({ action: "rewrite", content: { CloudCustomData: "c" } })).toEqual({
        status: 200,
        body: { ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0, CloudCustomData: "c" },
      });
    });

    it("NetEase through the pipeline: recorded and acknowledged with {code: 200}", async () => {
      const { pipeline: stages } = pipeline();
      const body = { ...fixture("netease", "copy-p2p-text"), msgidServer: String(Date.now()) };

      const outcome = await stages.handle(neteaseProvider(), copyRequest(body));

      expect(outcome).toMatchObject({
        outcome: "stored",
        applied: ["created"],
        reply: { status: 200, body: { code: 200 } },
      });
    });
  });

  describe("publish: domain events from what was recorded", () => {
    function collecting() {
      const events: DomainEvent[] = [];
      const outbox = new InProcessOutbox([(batch) => void events.push(...batch)]);
      return { events, outbox };
    }

    it("created: MessageRecorded (version 1, ids, no content); a redelivery: nothing", async () => {
      const { events, outbox } = collecting();
      const { pipeline: stages } = pipeline({ outbox });
      const message = c2c("secret words");

      const first = await stages.handle(tencent, callbackRequest(message.after));
      const again = await stages.handle(tencent, callbackRequest(message.after));

      expect(first.applied).toEqual(["created"]);
      expect(again.applied).toEqual(["duplicate"]);
      expect(again.published).toEqual([]);
      expect(events).toEqual([
        {
          type: "MessageRecorded",
          eventId: expect.stringMatching(/^MessageRecorded\/c2c_.*\/1$/),
          id: expect.stringMatching(/^c2c_/),
          provider: "tencent",
          appId: tencent.appId,
          version: 1,
          state: "sent",
          source: "callback",
          actor: fixture("tencent", "c2c-after-send").From_Account,
          at: expect.any(String),
        },
      ]);
      expect(JSON.stringify(events)).not.toContain("secret words");
    });

    it("a before-send then its after-send: MessageRecorded pending (version 0), then MessageRecorded version 1", async () => {
      const { events, outbox } = collecting();
      const { pipeline: stages } = pipeline({ outbox });
      const message = c2c();

      await stages.handle(tencent, callbackRequest(message.before));
      const sent = await stages.handle(tencent, callbackRequest(message.after));

      expect(sent.applied).toEqual(["updated"]);
      expect(events.map((e) => [e.type, e.version, "state" in e ? e.state : undefined])).toEqual([
        ["MessageRecorded", 0, "pending"],
        ["MessageRecorded", 1, "sent"],
      ]);
    });

    it("updated with a new version: MessageEdited (source client, actor); a recall (no version): nothing", async () => {
      const { events, outbox } = collecting();
      const { pipeline: stages } = pipeline({ outbox });
      const message = c2c();
      await stages.handle(tencent, callbackRequest(message.after));

      const edited = await stages.handle(tencent, callbackRequest(message.modify("changed")));
      const recalled = await stages.handle(
        tencent,
        callbackRequest({ ...fixture("tencent", "c2c-after-withdraw"), MsgKey: message.after.MsgKey }),
      );

      expect(edited.applied).toEqual(["updated"]);
      expect(recalled.applied).toEqual(["updated"]);
      expect(events.map((e) => e.type)).toEqual(["MessageRecorded", "MessageEdited"]);
      expect(events[1]).toMatchObject({ version: 2, source: "client" });
    });

    it("a publish that fails is reported and the callback still succeeds", async () => {
      const observer = { publishFailed: vi.fn() };
      const outbox: Outbox = {
        publish: async () => {
          throw new Error("queue down");
        },
      };
      const { pipeline: stages } = pipeline({ outbox, observer });

      const outcome = await stages.handle(tencent, callbackRequest(c2c().after));

      expect(outcome).toMatchObject({ outcome: "stored", applied: ["created"], reply: { status: 200 } });
      expect(observer.publishFailed).toHaveBeenCalledWith(
        expect.objectContaining({ message: "queue down" }),
        [expect.objectContaining({ type: "MessageRecorded" })],
      );
    });

    it("a spooled callback publishes when it is replayed, not before", async () => {
      const { events, outbox } = collecting();
      const spooled: SpooledCallback[] = [];
      const failing = new Recorder({
        ...store,
        createHead: async () => {
          throw new Error("store down");
        },
      } as unknown as SqliteStore);
      const durable = new DurableRecorder(
        failing,
        { enqueue: async (entry) => void spooled.push(entry) },
        1_000,
      );
      const stages = new CallbackPipeline({ durable, outbox });
      const request: CallbackRequest = callbackRequest(c2c().after);

      const outcome = await stages.handle(tencent, request);
      expect(outcome.outcome).toBe("spooled");
      expect(events).toEqual([]);

      const replayer = new CallbackPipeline({
        durable: new DurableRecorder(new Recorder(store), { enqueue: async () => {} }, 1_000),
        outbox,
      });
      expect(await replayer.replay(spooled[0] as SpooledCallback)).toEqual(["created"]);
      expect(events.map((e) => e.type)).toEqual(["MessageRecorded"]);
    });

    it("duplicates and unmatched events publish nothing", () => {
      expect(
        domainEvents("tencent", "1", [
          { outcome: "duplicate", id: "a" },
          { outcome: "unmatched", id: "b" },
        ]),
      ).toEqual([]);
    });
  });
});
