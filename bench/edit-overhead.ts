import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "undici";
import { SqliteStore, sqlitePath } from "../functions/adapters/sqlite/store.ts";
import { SlidingWindowLimiter } from "../functions/core/limiter.ts";
import { CountingStore } from "./counting-store.ts";
import {
  API_TOKEN,
  adminClient,
  type EditStack,
  inChunks,
  type SentMessage,
  sendMessages,
  startEditStack,
  textBody,
  textOf,
} from "./edit-stack.ts";
import type { BenchmarkResult, Row } from "./report.ts";
import { summarize } from "./stats.ts";

/**
 * Benchmark "edit-overhead": what an edit costs end to end (HTTP PATCH → local server → editor →
 * simulator's modify_c2c_msg → store) against the same modify_c2c_msg sent straight to the simulator, in
 * the same run. Both variants run sequentially, one call at a time, in alternating blocks (A B, B A, ...), each
 * call on a message of its own (no lease is ever contended, every edit takes the message to version 2).
 * Calls are paced so that neither the editor's limiter nor the simulator's 200/s per API ever waits.
 *
 * On what `npm start` runs: the embedded SQLite store persisted in the stack's DATA_DIR (the same file
 * and class as `npm start`, wrapped to count the store calls of each edit: the editor's and its echo's
 * in the recorder), handlers logging at the default level. Also this process's CPU time per call of
 * each variant (process.cpuUsage over the measured blocks).
 */
export interface EditOverheadOptions {
  /** Per variant, before the measured rounds. */
  readonly warmup: number;
  /** Measured calls per variant. */
  readonly iterations: number;
  readonly rounds: number;
  /** One call starts at most every this many ms (1000 / interval per second, well under 180/s). */
  readonly intervalMs: number;
}

const DEFAULTS: EditOverheadOptions = { warmup: 20, iterations: 300, rounds: 10, intervalMs: 8 };
const GOAL_RATIO = 1.5;
/** Store calls per edit on the happy path, the editor's and its echo's together (issue 14). */
const GOAL_STORE_CALLS = 6;
/** This process's CPU time per edit (issue 14). */
const GOAL_CPU_MS = 5;
/** The edits (warm-up and measured) stop with an error after this long. */
const HARD_LIMIT_MS = 30_000;

interface Outcome {
  readonly ms: number;
  readonly ok: boolean;
  readonly status?: string;
}
type Op = (message: SentMessage, text: string) => Promise<Outcome>;

export async function editOverhead(options: EditOverheadOptions = DEFAULTS): Promise<BenchmarkResult> {
  let counted: CountingStore | undefined;
  const edit = await startEditStack(
    {},
    {
      store: (dataDir) => {
        const inner = new SqliteStore({ path: sqlitePath(dataDir) });
        counted = new CountingStore(inner);
        return { store: counted.store, close: () => inner.close() };
      },
    },
  );
  let http: Client | undefined;
  try {
    const { stack, sim, run } = edit;
    const perVariant = options.warmup + options.iterations;
    const prepareStarted = performance.now();
    const messages = await sendMessages(edit, 2 * perVariant, "eo");
    const prepareMs = performance.now() - prepareStarted;
    const viaEditorMessages = messages.slice(0, perVariant);
    const directMessages = messages.slice(perVariant);

    const calls = counted;
    if (calls === undefined) throw new Error("edit-overhead: the stack did not take the counting store");
    http = new Client(stack.url, { connectTimeout: 2_000, headersTimeout: 10_000, bodyTimeout: 10_000 });
    const client = http;
    const editConfig = stack.config.tencent?.edit;
    // The same rule as the editor's limiter: the direct call pays the same (uncontended) acquire.
    const direct = adminClient(
      stack,
      new SlidingWindowLimiter(() => ({
        limit: editConfig?.rateLimit ?? 180,
        windowMs: editConfig?.rateWindowMs ?? 1000,
      })),
    );

    const statuses: Record<string, number> = {};
    const viaEditor: Op = async (message, text) => {
      const started = performance.now();
      try {
        const response = await client.request({
          method: "PATCH",
          path: `/v1/messages/${message.id}`,
          headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify({ text }),
        });
        const body = await response.body.text();
        const ms = performance.now() - started;
        const ok = response.statusCode === 200 && versionOf(body) === 2;
        return { ms, ok, status: `HTTP ${response.statusCode}` };
      } catch (error: unknown) {
        return { ms: performance.now() - started, ok: false, status: errorName(error) };
      }
    };
    const viaSimulator: Op = async (message, text) => {
      const started = performance.now();
      try {
        await direct.call(
          "openim",
          "modify_c2c_msg",
          {
            From_Account: message.from,
            To_Account: message.to,
            MsgKey: message.msgKey,
            MsgBody: textBody(text),
          },
          { deadline: Date.now() + 5_000, resendAfterSend: false },
        );
        return { ms: performance.now() - started, ok: true };
      } catch (error: unknown) {
        return { ms: performance.now() - started, ok: false, status: errorName(error) };
      }
    };

    const expected = new Map<string, string>();
    const variants = {
      editor: {
        op: viaEditor,
        messages: viaEditorMessages,
        next: 0,
        times: [] as number[],
        failed: 0,
        cpuMs: 0,
      },
      direct: {
        op: viaSimulator,
        messages: directMessages,
        next: 0,
        times: [] as number[],
        failed: 0,
        cpuMs: 0,
      },
    };
    type Variant = (typeof variants)[keyof typeof variants];
    let nextStart = performance.now();
    const hardLimit = nextStart + HARD_LIMIT_MS;
    const block = async (name: keyof typeof variants, count: number, measure: boolean) => {
      const variant: Variant = variants[name];
      calls.phase = measure ? name : "warmup";
      const cpu = process.cpuUsage();
      for (let k = 0; k < count; k++) {
        if (performance.now() > hardLimit)
          throw new Error(`edit-overhead: still running after ${HARD_LIMIT_MS} ms`);
        const wait = nextStart - performance.now();
        if (wait > 0) await sleep(wait);
        nextStart = Math.max(performance.now(), nextStart) + options.intervalMs;
        const index = variant.next++;
        const message = variant.messages[index];
        if (message === undefined) throw new Error(`no message left for ${name}`);
        const text = `${name} edit ${index} of ${run}`;
        expected.set(message.id, text);
        const outcome = await variant.op(message, text);
        if (!outcome.ok) {
          variant.failed++;
          if (outcome.status !== undefined) statuses[outcome.status] = (statuses[outcome.status] ?? 0) + 1;
        }
        if (measure) variant.times.push(outcome.ms);
      }
      if (measure) {
        const used = process.cpuUsage(cpu);
        variant.cpuMs += (used.user + used.system) / 1000;
      }
    };

    await block("editor", options.warmup, false);
    await block("direct", options.warmup, false);
    const perRound = Math.ceil(options.iterations / options.rounds);
    const measuredStarted = performance.now();
    for (let round = 0; round < options.rounds; round++) {
      const count = Math.min(perRound, options.iterations - round * perRound);
      const order: Array<keyof typeof variants> =
        round % 2 === 0 ? ["editor", "direct"] : ["direct", "editor"];
      for (const name of order) await block(name, count, true);
    }
    const measuredMs = performance.now() - measuredStarted;
    calls.phase = "check";
    await sim.idle();

    const checks = await verify(edit, viaEditorMessages, directMessages, expected);
    const e = summarize(variants.editor.times);
    const d = summarize(variants.direct.times);
    const simStats = sim.stats;
    const rateLimited = (api: string) => simStats.rateLimited[api] ?? 0;
    const rows: Row[] = [
      { metric: "calls per variant (after warm-up)", value: e.n, digits: 0 },
      { metric: "end-to-end mean", value: e.mean, unit: "ms", digits: 3 },
      { metric: "end-to-end p50", value: e.p50, unit: "ms", digits: 3 },
      { metric: "end-to-end p99", value: e.p99, unit: "ms", digits: 3 },
      { metric: "direct simulator call mean", value: d.mean, unit: "ms", digits: 3 },
      { metric: "direct simulator call p50", value: d.p50, unit: "ms", digits: 3 },
      { metric: "direct simulator call p99", value: d.p99, unit: "ms", digits: 3 },
      { metric: "overhead per edit (mean)", value: e.mean - d.mean, unit: "ms", digits: 3 },
      { metric: "ratio end-to-end/direct (p50)", value: e.p50 / d.p50, unit: "x" },
      { metric: "ratio end-to-end/direct (p99)", value: e.p99 / d.p99, unit: "x" },
      {
        summary: "edit end-to-end / direct simulator call (mean, same run)",
        metric: "ratio end-to-end/direct (mean)",
        value: e.mean / d.mean,
        unit: "x",
        goal: { op: "<=", limit: GOAL_RATIO },
      },
      {
        summary: "store calls per edit on the happy path, editor + echo (npm start's store, counted)",
        metric: "store calls per edit (editor + echo)",
        value: calls.total("editor") / e.n,
        digits: 2,
        goal: { op: "<=", limit: GOAL_STORE_CALLS },
      },
      { metric: "store calls per edit, by method", value: calls.describe("editor", e.n) },
      { metric: "store calls per direct call (its echo recorded)", value: calls.describe("direct", d.n) },
      {
        summary: "local CPU per edit (process CPU, npm start's stack, sequential edits)",
        metric: "CPU per edit, this process (all of the stack)",
        value: variants.editor.cpuMs / e.n,
        unit: "ms",
        digits: 2,
        goal: { op: "<=", limit: GOAL_CPU_MS },
      },
      {
        metric: "CPU per direct call, this process",
        value: variants.direct.cpuMs / d.n,
        unit: "ms",
        digits: 2,
      },
      {
        metric: "CPU an edit adds over the direct call",
        value: (variants.editor.cpuMs - variants.direct.cpuMs) / e.n,
        unit: "ms",
        digits: 2,
      },
      {
        metric: "failed end-to-end / direct",
        value: `${variants.editor.failed} / ${variants.direct.failed}${
          Object.keys(statuses).length > 0 ? ` (${describe(statuses)})` : ""
        }`,
      },
      {
        metric: "end-to-end: v2 by api, simulator text",
        value: `${checks.editor.ok} / ${checks.editor.checked} ok`,
      },
      {
        metric: "direct: v2 by client callback, simulator text",
        value: `${checks.direct.ok} / ${checks.direct.checked} ok`,
      },
      {
        metric: "simulator 60007 (sendmsg / modify_c2c_msg)",
        value: `${rateLimited("sendmsg")} / ${rateLimited("modify_c2c_msg")}`,
      },
      {
        metric: "simulator modify_c2c_msg calls / applied",
        value: `${simStats.calls.modify_c2c_msg ?? 0} / ${simStats.applied.modify_c2c_msg ?? 0}`,
      },
      {
        metric: "callbacks delivered / failed",
        value: `${sum(simStats.callbacksDelivered)} / ${sum(simStats.callbackFailures)}`,
      },
      { metric: "spooled instead of stored", value: (await stack.spool.pending()).length, digits: 0 },
    ];
    return {
      title: "edit over HTTP (server → editor → simulator → store) vs the same modify_c2c_msg sent directly",
      rows,
      notes: [
        `${2 * perVariant} C2C messages sent through the simulator's sendmsg first (${(prepareMs / 1000).toFixed(1)} s, ≤ 190/s), each edited once`,
        `warm-up ${options.warmup} per variant, then ${options.rounds} alternating rounds, sequential, one call started at most every ${options.intervalMs} ms; measured part took ${(measuredMs / 1000).toFixed(1)} s`,
        "end-to-end = undici PATCH /v1/messages/{id} {text} on one keep-alive connection → 200 body read",
        "direct = TencentRestClient.call(modify_c2c_msg) with the same body shape, own UserSig cache, a limiter with the editor's rule, the same undici pool",
        "both include the simulator's after-modify callback to the recorder, delivered before the simulator answers (the direct edit is recorded as a client version, the end-to-end one is matched as the editor's own echo)",
        "store: the embedded SQLite store in a file under a temporary DATA_DIR (npm start's default), through a wrapper counting its calls; handlers log at the default level",
        "CPU = this process's user + system time (process.cpuUsage) over the measured blocks / calls: the HTTP client, local server, editor, recorder, simulator and store all run here; pacing sleeps cost none",
        ...checks.problems.slice(0, 5),
      ],
    };
  } finally {
    await http?.close();
    await edit.close();
  }
}

interface Checked {
  checked: number;
  ok: number;
}

/** Every edited message: head and version 2 with the expected text and source; the simulator's text. */
async function verify(
  edit: EditStack,
  viaEditor: readonly SentMessage[],
  direct: readonly SentMessage[],
  expected: ReadonlyMap<string, string>,
): Promise<{ editor: Checked; direct: Checked; problems: string[] }> {
  const problems: string[] = [];
  const { store } = edit.stack.deps;
  const check = async (messages: readonly SentMessage[], source: string): Promise<Checked> => {
    const edited = messages.filter((m) => expected.has(m.id));
    const results = await inChunks(edited, async (m) => {
      const [head, version] = await Promise.all([store.getHead(m.id), store.getVersion(m.id, 2)]);
      const want = expected.get(m.id);
      const simText = textOf(edit.sim.c2cMessage(m.from, m.to, m.msgKey)?.MsgBody);
      const ok =
        head?.version === 2 &&
        textOf(head.content?.MsgBody) === want &&
        version?.source === source &&
        textOf(version.content.MsgBody) === want &&
        simText === want;
      if (!ok) {
        problems.push(
          `${m.id}: head v${head?.version} "${textOf(head?.content?.MsgBody)}", v2 ${version?.source}, simulator "${simText}", expected "${want}"`,
        );
      }
      return ok;
    });
    return { checked: edited.length, ok: results.filter(Boolean).length };
  };
  return { editor: await check(viaEditor, "api"), direct: await check(direct, "client"), problems };
}

const sum = (counts: Readonly<Record<string, number>>): number =>
  Object.values(counts).reduce((total, n) => total + n, 0);

const describe = (counts: Readonly<Record<string, number>>): string =>
  Object.entries(counts)
    .map(([key, n]) => `${key}×${n}`)
    .join(", ");

function versionOf(body: string): unknown {
  try {
    return (JSON.parse(body) as { version?: unknown }).version;
  } catch {
    return undefined;
  }
}

const errorName = (error: unknown): string =>
  error instanceof Error ? ((error as { code?: string }).code ?? error.name) : "error";
