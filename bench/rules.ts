import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore, sqlitePath } from "../functions/adapters/sqlite/store.ts";
import { createDependencies } from "../functions/clients.ts";
import { loadConfig } from "../functions/config.ts";
import { evaluate, RuleSet, type RuleSubject } from "../functions/core/rules/engine.ts";
import { tencentCodec } from "../functions/providers/tencent/codec.ts";
import { handler } from "../functions/recorder.ts";
import { setDependencies } from "../functions/wiring/cold-start.ts";
import { APP_ID, afterSendBody, fixtureContent, randomUint32 } from "./callbacks.ts";
import { callbackEvent, lambdaContext } from "./handler-invocation.ts";
import type { BenchmarkResult } from "./report.ts";

/**
 * Benchmark "rules": what 100 loaded rules cost a callback, against the recorder's own cost.
 *
 * - Recorder: the recorder handler on new C2C after-sends (API Gateway v2 events, in-process) on what
 *   `npm start` runs, the embedded SQLite store persisted in a temporary directory, default log level;
 *   CPU time of this process per callback, without rules and with the 100 rules loaded, in alternating
 *   rounds (drift hits both).
 * - Matching: the after-send rules evaluated on one callback's content (none of them matches: the common
 *   case, where every rule is tried), CPU per callback in a tight loop.
 * The goal: matching < 5 % of the recorder's own cost per callback.
 */
const RULES = 100;
const GOAL = 0.05;
const ROUNDS = 8;
const PER_ROUND = 250;
const MATCH_ITERATIONS = 20_000;

/** 100 rules of the kinds the README shows: word lists, phone numbers, custom data markers. */
export function hundredRules(): unknown {
  return {
    rules: Array.from({ length: RULES }, (_, i) => {
      const id = `rule-${i}`;
      if (i % 10 === 9)
        return {
          id,
          match: { provider: "tencent", customData: { flagged: `reason-${i}` } },
          action: { mergeCustomData: { reviewed: true } },
        };
      if (i % 10 === 8)
        return {
          id,
          match: { provider: "tencent", text: `1[3-9]\\d{9}${i}` },
          action: { redact: { pattern: "1[3-9]\\d{9}", mask: "***" } },
        };
      return {
        id,
        match: { text: `(?i)\\bforbidden${i}\\b|banned-word-${i}` },
        action: { replace: { pattern: `(?i)forbidden${i}`, with: "***" } },
      };
    }),
  };
}

export async function rulesCost(): Promise<BenchmarkResult> {
  const dir = await mkdtemp(join(tmpdir(), "im-edit-bench-rules-"));
  const rulesFile = join(dir, "rules.json");
  await writeFile(rulesFile, JSON.stringify(hundredRules()));
  const stores: SqliteStore[] = [];
  try {
    const ruleSet = RuleSet.parse(hundredRules(), "bench");
    // Matching alone.
    const subject: RuleSubject = {
      provider: "tencent",
      appId: APP_ID,
      kind: "c2c",
      conversation: "c2c:jared:bench",
      sender: "jared",
      content: fixtureContent,
    };
    const afterSend = ruleSet.on("after-send");
    let steps = 0;
    for (let i = 0; i < 2_000; i++)
      steps += evaluate(afterSend, subject, tencentCodec, { budgetMs: 50 }).steps.length;
    const matchCpu = process.cpuUsage();
    for (let i = 0; i < MATCH_ITERATIONS; i++)
      steps += evaluate(afterSend, subject, tencentCodec, { budgetMs: 50 }).steps.length;
    const matchUsage = process.cpuUsage(matchCpu);
    const matchMs = (matchUsage.user + matchUsage.system) / 1000 / MATCH_ITERATIONS;

    // The recorder, without and with the rules.
    const variants = ["without", "with"] as const;
    const deps = Object.fromEntries(
      variants.map((variant) => {
        mkdirSync(join(dir, variant));
        const store = new SqliteStore({ path: sqlitePath(join(dir, variant)) });
        stores.push(store);
        const config = loadConfig({
          TABLE_NAME: "im-edit-bench",
          AWS_REGION: "local",
          TENCENT_SDKAPPID: APP_ID,
          DATA_DIR: join(dir, variant),
          RATE_LIMITER: "memory",
          ...(variant === "with" ? { IM_EDIT_RULES: rulesFile } : {}),
        });
        return [variant, createDependencies(config, { store })];
      }),
    ) as Record<(typeof variants)[number], ReturnType<typeof createDependencies>>;
    const run = randomBytes(4).toString("hex");
    const time = Math.floor(Date.now() / 1000);
    let next = 0;
    let failures = 0;
    const block = async (variant: (typeof variants)[number], count: number) => {
      setDependencies(deps[variant]);
      const cpu = process.cpuUsage();
      for (let k = 0; k < count; k++) {
        const i = next++;
        const body = afterSendBody({
          from: "jared",
          to: `bench-${run}-${i}`,
          seq: i + 1,
          random: randomUint32(),
          time,
        });
        const result = await handler(callbackEvent(body), lambdaContext());
        if (!("statusCode" in result) || result.statusCode !== 200) failures++;
      }
      const usage = process.cpuUsage(cpu);
      return (usage.user + usage.system) / 1000;
    };
    const cpuMs = { without: 0, with: 0 };
    const count = { without: 0, with: 0 };
    await block("without", 200);
    await block("with", 200);
    for (let round = 0; round < ROUNDS; round++) {
      const order: readonly (typeof variants)[number][] =
        round % 2 === 0 ? variants : [...variants].reverse();
      for (const variant of order) {
        cpuMs[variant] += await block(variant, PER_ROUND);
        count[variant] += PER_ROUND;
      }
    }
    const recorderMs = cpuMs.without / count.without;
    const withRulesMs = cpuMs.with / count.with;
    return {
      title: `${RULES} rules loaded: matching cost per callback against the recorder's own (embedded SQLite store, default log level)`,
      rows: [
        { metric: "recorder CPU per new after-send, no rules", value: recorderMs, unit: "ms", digits: 3 },
        {
          metric: `recorder CPU per new after-send, ${RULES} rules loaded`,
          value: withRulesMs,
          unit: "ms",
          digits: 3,
        },
        {
          metric: `matching ${afterSend.length} after-send rules on one callback (none matches)`,
          value: matchMs * 1000,
          unit: "µs",
          digits: 1,
        },
        {
          summary: `rule matching with ${RULES} rules: share of the recorder's own cost per callback`,
          metric: "matching / recorder",
          value: matchMs / recorderMs,
          unit: "x",
          digits: 4,
          goal: { op: "<", limit: GOAL },
        },
        {
          metric: "recorder with rules / without (end to end, noisy)",
          value: withRulesMs / recorderMs,
          unit: "x",
          digits: 3,
        },
        { metric: "callbacks not answered 200", value: failures, digits: 0 },
      ],
      notes: [
        `${ROUNDS} alternating rounds of ${PER_ROUND} callbacks per variant after 200 of warm-up each; CPU time of this process (store included: SQLite runs in-process)`,
        `matching: ${MATCH_ITERATIONS} evaluations after 2,000 of warm-up (${steps} steps taken: the content matches none)`,
        `rules: 80 text rules with case-insensitive word patterns, 10 phone-number rules, 10 custom-data rules (the file the bench writes)`,
      ],
    };
  } finally {
    setDependencies(undefined);
    for (const store of stores) store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
