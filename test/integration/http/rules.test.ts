import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseOperation, perform } from "../../../functions/api/operations.ts";
import { RulesError } from "../../../functions/core/rules/engine.ts";
import type { LocalStack } from "../../../local/stack.ts";
import { fixture } from "../../helpers/fixtures.ts";
import { send } from "../../helpers/http.ts";
import { neteaseApp } from "../../helpers/netease-app.ts";
import { api, postTencent, startTestStack } from "../../helpers/stack.ts";
import { tencentApp } from "../../helpers/tencent-app.ts";

const text = (value: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: value } }];

const RULES = {
  rules: [
    {
      id: "bs-redact-phone",
      on: "before-send",
      match: { provider: "tencent", text: "1[3-9]\\d{9}" },
      action: { redact: { pattern: "1[3-9]\\d{9}", mask: "***" } },
    },
    {
      id: "as-redact-card",
      on: "after-send",
      match: { text: "\\d{4}-\\d{4}-\\d{4}-\\d{4}" },
      action: { redact: { pattern: "\\d{4}-\\d{4}-\\d{4}-\\d{4}", mask: "[card]" } },
    },
    // Its result still matches: only "a rule applies once per message" keeps it from looping.
    {
      id: "as-ping",
      on: "after-send",
      match: { provider: "tencent", text: "^ping" },
      action: { replace: { pattern: "ping", with: "ping pong" } },
    },
    {
      id: "as-netease-darn",
      on: "after-send",
      match: { provider: "netease", text: "darn" },
      action: { replace: { pattern: "darn", with: "d**n" } },
    },
  ],
};

interface VersionBody {
  version: number;
  source: string;
  ruleId?: string;
  actor?: string;
  content: Record<string, unknown>;
}

/** Polls until `probe` answers something (the queue and the echoes run after the callback's answer). */
async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Lets queued work and echoes settle: nothing more should happen after this. */
const quiet = () => new Promise((resolve) => setTimeout(resolve, 300));

describe("rules through the local stack (Tencent and Yunxin simulators)", () => {
  let stack: LocalStack;
  let dir: string;
  let rulesFile: string;
  let tencent: ReturnType<typeof tencentApp>;
  let netease: ReturnType<typeof neteaseApp>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "im-edit-rules-"));
    rulesFile = join(dir, "rules.json");
    await writeFile(rulesFile, JSON.stringify(RULES));
    stack = await startTestStack({
      tencentSimulator: true,
      neteaseSimulator: true,
      env: { IM_EDIT_RULES: rulesFile },
    });
    tencent = tencentApp(stack);
    netease = neteaseApp(stack);
  });
  afterAll(async () => {
    await stack.close();
    await rm(dir, { recursive: true, force: true });
  });

  const appId = () => stack.config.tencent?.sdkAppId ?? "";
  const c2cRecord = async (msgKey: string) => {
    const found = await api(stack.url, `/v1/messages?provider=tencent&appId=${appId()}&msgKey=${msgKey}`);
    return found.status === 200 ? (found.body as { id: string; version: number }) : undefined;
  };
  const versions = async (id: string) =>
    ((await api(stack.url, `/v1/messages/${id}/versions`)).body as { items: VersionBody[] }).items;
  const versionsReaching = (id: string, count: number) =>
    eventually(async () => {
      const items = await versions(id);
      return items.length >= count ? items : undefined;
    });
  const simText = (from: string, to: string, msgKey: string) =>
    JSON.stringify(stack.tencent?.c2cMessage(from, to, msgKey)?.MsgBody);

  /**
   * Tencent's before-send, played by the test (the simulator sends no before-send callback): the recorder
   * answers it, and the simulator then stores and delivers what the answer says, with the same MsgSeq and
   * MsgRandom, so the after-send names the same message. Retried when the two straddle a second (MsgTime).
   */
  async function sendThroughBeforeSend(from: string, to: string, typed: string) {
    for (let attempt = 0; attempt < 3; attempt++) {
      const msgSeq = Math.floor(Math.random() * 1e6);
      const msgRandom = Math.floor(Math.random() * 4e9);
      const msgTime = Math.floor(Date.now() / 1000);
      const before = {
        ...fixture("tencent", "c2c-before-send"),
        From_Account: from,
        To_Account: to,
        MsgSeq: msgSeq,
        MsgRandom: msgRandom,
        MsgTime: msgTime,
        MsgKey: `${msgSeq}_${msgRandom}_${msgTime}`,
        MsgBody: text(typed),
        CloudCustomData: undefined,
      };
      const answer = await postTencent(stack.url, before);
      const { MsgBody, ErrorCode } = answer.body as { MsgBody?: unknown; ErrorCode: number };
      expect(ErrorCode).toBe(0);
      const sent = await tencent.call("openim", "sendmsg", {
        From_Account: from,
        To_Account: to,
        MsgSeq: msgSeq,
        MsgRandom: msgRandom,
        MsgBody: MsgBody ?? text(typed),
      });
      if (String(sent.MsgKey) === before.MsgKey) return { answer: answer.body, msgKey: String(sent.MsgKey) };
    }
    throw new Error("could not line the before-send up with the send");
  }

  it("before-send: the rule rewrites what is delivered; history shows what was typed (v1) and the rule's rewrite (v2)", async () => {
    const { answer, msgKey } = await sendThroughBeforeSend("alice", "bob", "call 13812345678 now");

    expect(answer).toMatchObject({ ErrorCode: 0, MsgBody: text("call *** now") });
    expect(simText("alice", "bob", msgKey)).toBe(JSON.stringify(text("call *** now")));
    const record = await eventually(async () => {
      const found = await c2cRecord(msgKey);
      return found && found.version >= 2 ? found : undefined;
    });
    expect(record).toMatchObject({ version: 2, state: "sent", content: { MsgBody: text("call *** now") } });
    expect(
      (await versions(record.id)).map((v) => [v.version, v.source, v.ruleId, v.content.MsgBody]),
    ).toEqual([
      [1, "callback", undefined, text("call 13812345678 now")],
      [2, "auto", "bs-redact-phone", text("call *** now")],
    ]);
  });

  it("after-send: the rule edits the message at the provider, a version with source auto and its ruleId", async () => {
    const msgKey = await tencent.sendC2C("alice", "bob", "card 1234-5678-9012-3456 ok");
    const record = await eventually(() => c2cRecord(msgKey));

    const items = await versionsReaching(record.id, 2);

    expect(items.map((v) => [v.version, v.source, v.ruleId, v.actor])).toEqual([
      [1, "callback", undefined, "alice"],
      [2, "auto", "as-redact-card", "rule:as-redact-card"],
    ]);
    expect(items[1]?.content.MsgBody).toEqual(text("card [card] ok"));
    expect(simText("alice", "bob", msgKey)).toBe(JSON.stringify(text("card [card] ok")));
  });

  it("a rule applies once per message, even when applyRules is delivered twice (and its result still matches)", async () => {
    const msgKey = await tencent.sendC2C("alice", "bob", "ping");
    const record = await eventually(() => c2cRecord(msgKey));
    await versionsReaching(record.id, 2);

    // The SQS path (the editor's operation) twice at once, and the in-process queue twice more.
    const operation = parseOperation({ action: "applyRules", target: { id: record.id } });
    const replies = await Promise.all([perform(stack.deps, operation), perform(stack.deps, operation)]);
    await stack.deps.work.enqueue({ action: "applyRules", target: { id: record.id } });
    await stack.deps.work.enqueue({ action: "applyRules", target: { id: record.id } });
    await quiet();

    expect(replies.map((reply) => reply.status)).toEqual([200, 200]);
    expect(replies.map((reply) => (reply.body as { applied: unknown[] }).applied)).toEqual([[], []]);
    const items = await versions(record.id);
    expect(items.map((v) => [v.version, v.source, v.ruleId])).toEqual([
      [1, "callback", undefined],
      [2, "auto", "as-ping"],
    ]);
    expect(simText("alice", "bob", msgKey)).toBe(JSON.stringify(text("ping pong")));
  });

  it("rules do not run on client edits, API edits or their echoes", async () => {
    const msgKey = await tencent.sendC2C("alice", "bob", "hello");
    const record = await eventually(() => c2cRecord(msgKey));
    // The sender's own client edit (an after-modify from alice), with a card number in it.
    const [, msgRandom, msgTime] = msgKey.split("_");
    await postTencent(stack.url, {
      ...fixture("tencent", "c2c-after-modify"),
      Operator_Account: "alice",
      From_Account: "alice",
      To_Account: "bob",
      MsgKey: msgKey,
      MsgRandom: Number(msgRandom),
      MsgTime: Number(msgTime),
      MsgBody: text("client says 1111-2222-3333-4444"),
      CloudCustomData: undefined,
      EventTime: Date.now() + 1_000,
    });
    // An API edit with one too (its after-modify echo is recognized as ours).
    const edited = await send(stack.url, "PATCH", `/v1/messages/${record.id}`, {
      text: "api says 5555-6666-7777-8888",
    });
    expect(edited.status).toBe(200);
    await quiet();

    expect((await versions(record.id)).map((v) => [v.version, v.source])).toEqual([
      [1, "callback"],
      [2, "client"],
      [3, "api"],
    ]);
  });

  it("Yunxin: an after-send rule edits the copied message through modifyMsg", async () => {
    const msgId = await netease.sendText("alice", "bob", "oh darn it");
    const record = await eventually(async () => {
      const found = await api(
        stack.url,
        `/v1/messages?provider=netease&appId=${netease.appKey}&msgId=${msgId}`,
      );
      return found.status === 200 ? (found.body as { id: string }) : undefined;
    });

    const items = await versionsReaching(record.id, 2);

    expect(items.map((v) => [v.version, v.source, v.ruleId])).toEqual([
      [1, "callback", undefined],
      [2, "auto", "as-netease-darn"],
    ]);
    expect(items[1]?.content.text).toBe("oh d**n it");
    expect(stack.netease?.message(msgId)?.text).toBe("oh d**n it");
  });

  it("reloads the rules file when it changes; a bad file keeps the last good rules", async () => {
    const hot = {
      id: "as-hot",
      on: "after-send",
      match: { text: "hotword" },
      action: { replaceText: { text: "cooled" } },
    };
    await writeFile(rulesFile, JSON.stringify({ rules: [...RULES.rules, hot] }));
    await eventually(async () => stack.deps.rules.current().get("as-hot"));

    const msgKey = await tencent.sendC2C("alice", "bob", "hotword");
    const record = await eventually(() => c2cRecord(msgKey));
    const items = await versionsReaching(record.id, 2);
    expect(items[1]).toMatchObject({
      source: "auto",
      ruleId: "as-hot",
      content: { MsgBody: text("cooled") },
    });

    await writeFile(rulesFile, JSON.stringify({ rules: [{ id: "Bad Id", on: "after-send", match: {} }] }));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(stack.deps.rules.current().get("as-hot")).toBeDefined();
  });
});

describe("a bad rules file stops the start", () => {
  it("names the rule, the field and the reason", async () => {
    const dir = await mkdtemp(join(tmpdir(), "im-edit-rules-bad-"));
    const file = join(dir, "rules.json");
    await writeFile(
      file,
      JSON.stringify({
        rules: [{ id: "redact-phone", on: "after-send", match: {}, action: { redact: { pattern: "(" } } }],
      }),
    );
    try {
      const started = startTestStack({ tencentSimulator: true, env: { IM_EDIT_RULES: file } });
      await expect(started).rejects.toBeInstanceOf(RulesError);
      await expect(started).rejects.toThrow(/redact-phone.*action\.redact/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
