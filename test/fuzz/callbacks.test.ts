import { createHash, randomUUID } from "node:crypto";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MESSAGE_ID_PATTERN, PROVIDER_NAMES } from "../../functions/core/model.ts";
import type { CallbackRequest } from "../../functions/core/provider.ts";
import { eventMessageId, type RecorderEvent } from "../../functions/core/recorder-events.ts";
import { errorResult } from "../../functions/http/respond.ts";
import { tencentSign } from "../../functions/providers/tencent/verify.ts";
import type { LocalStack } from "../../local/stack.ts";
import { fixture } from "../helpers/fixtures.ts";
import { API_TOKEN, CALLBACK_TOKEN, startTestStack } from "../helpers/stack.ts";
import { APP_ID } from "../helpers/tencent.ts";
import {
  CONTENT_TYPES,
  combinedMutations,
  fuzzSeed,
  type Json,
  Random,
  rawMutations,
  storageProblem,
  systematicMutations,
  Tally,
  withOwn,
} from "./mutate.ts";

/**
 * Callback fuzz: thousands of mutations of every documented Tencent and Yunxin payload in test/fixtures/,
 * first in process against the providers the recorder runs (many, fast), then a seeded sample end to end
 * through the local server over real HTTP with dynalite (signed, so mutations reach the parser).
 *
 * Asserted: no 5xx; a rejected callback writes nothing; an accepted one is stored (never spooled: in
 * this run the store is healthy, so a spool means input the store cannot hold) and then reads back
 * through GET /v1/messages/{id} and its /versions; a normal callback still records correctly afterwards.
 */
const SEED = fuzzSeed();
/** Generous: the suites take seconds alone, longer beside the rest of `npm test` on 2 cores. */
const FUZZ_TIMEOUT_MS = 120_000;
const HTTP_SAMPLE = 2_400;
const COMBOS_PER_FIXTURE = 40;
const ACCEPTED_STATUSES = new Set([200, 400, 401, 403, 413]);
const KINDS = new Set(["c2c", "group", "p2p", "team", "superteam"]);
const STATES = new Set(["pending", "sent", "failed", "recalled"]);
/** DynamoDB holds 32 levels; content sits one level below the item. */
const CONTENT_DEPTH = 31;
const WRITE_METHODS = [
  "createHead",
  "putHead",
  "putVersion",
  "replaceVersion",
  "acquireLease",
  "extendLease",
  "releaseLease",
  "beginEdit",
  "putIntent",
  "updateIntent",
  "deleteIntent",
  "commitEdit",
  "claimIdempotencyKey",
  "completeIdempotencyKey",
  "releaseIdempotencyKey",
  "replaceIdempotencyResult",
] as const;

type Provider = "tencent" | "netease";

interface Case {
  readonly provider: Provider;
  readonly label: string;
  readonly body: Buffer;
  /** Changes to the signed query (Tencent) or headers (Yunxin); undefined values remove a name. */
  readonly patch?: Readonly<Record<string, string | undefined>>;
  /** The Tencent command the genuine query carries. */
  readonly command?: string;
  /** A mutation of the bytes rather than of the JSON (always sent over HTTP too). */
  readonly raw?: boolean;
}

const fixturesOf = (provider: Provider): string[] =>
  readdirSync(join(import.meta.dirname, "..", "fixtures", provider))
    .filter((name) => name.endsWith(".json"))
    .map((name) => name.slice(0, -".json".length))
    .sort();

/** Query mutations for Tencent (a few keep the signature valid; the others must be refused unparsed). */
const TENCENT_QUERY_PATCHES: readonly Record<string, string | undefined>[] = [
  { CallbackCommand: undefined },
  { CallbackCommand: "C2C.CallbackAfterSendMsg" },
  { CallbackCommand: "Group.CallbackAfterSendMsg" },
  { CallbackCommand: "constructor" },
  { CallbackCommand: "" },
  { SdkAppid: "1400000001" },
  { SdkAppid: undefined },
  { SdkAppid: "constructor" },
  { Sign: undefined },
  { Sign: "00" },
  { Sign: "\u00e9".repeat(64) },
  { RequestTime: "0" },
  { RequestTime: "99999999999999999999" },
  { RequestTime: "abc" },
  { RequestTime: undefined },
  { contenttype: "xml" },
  Object.fromEntries([
    ["__proto__", "x"],
    ["constructor", "y"],
    ["toString", "z"],
    ["hasOwnProperty", "w"],
    ["valueOf", "v"],
  ]),
  { OptPlatform: "\u0000", ClientIP: "::1" },
];

/** Header mutations for Yunxin copies. */
const NETEASE_HEADER_PATCHES: readonly Record<string, string | undefined>[] = [
  { md5: undefined },
  { checksum: undefined },
  { curtime: undefined },
  { md5: "d41d8cd98f00b204e9800998ecf8427e" },
  { checksum: "0".repeat(40) },
  { curtime: "abc" },
  { curtime: "0" },
  { curtime: "99999999999999999999" },
  { appkey: "another-app" },
  { appkey: undefined },
  { appkey: "constructor" },
];

/** Yunxin's `attach` is a JSON string per the field table, an object in some samples, and anything from an attacker. */
const ATTACH_VARIANTS: readonly { label: string; attach: Json }[] = [
  { label: "object", attach: { type: 2, data: { tid: "1", ids: ["a"] } } },
  { label: "empty object", attach: {} },
  { label: "array", attach: [1, 2] },
  { label: "number", attach: 1 },
  { label: "string of an array", attach: "[1,2]" },
  { label: "string of null", attach: "null" },
  { label: "string with 2^53+1", attach: '{"orderId":9007199254740993}' },
  { label: "string with 1e400", attach: '{"x":1e400}' },
  { label: "string with 1e-400", attach: '{"x":1e-400}' },
  { label: "string with 1e-200", attach: '{"x":1e-200}' },
  { label: "object with 1e20", attach: { x: 1e20 } },
  {
    label: "string nested 40",
    attach: JSON.stringify({ a: JSON.parse(`${"[".repeat(40)}1${"]".repeat(40)}`) }),
  },
  { label: "object nested 40", attach: { a: JSON.parse(`${"[".repeat(40)}1${"]".repeat(40)}`) as Json } },
  { label: "string with __proto__", attach: '{"__proto__":{"polluted":1},"constructor":"x"}' },
  { label: "object with __proto__", attach: withOwn({ a: 1 }, "__proto__", { polluted: 1 }) },
  { label: "string with lone surrogate", attach: '{"x":"\\ud800"}' },
  { label: "string with lone surrogate key", attach: '{"\\ud800":1}' },
  { label: "string with duplicate keys", attach: '{"a":1,"a":2}' },
  { label: "long string", attach: JSON.stringify({ s: "x".repeat(40_000) }) },
];

function tencentCases(random: Random): Case[] {
  const cases: Case[] = [];
  for (const name of fixturesOf("tencent")) {
    const payload = fixture("tencent", name) as Json;
    const command = String((payload as Record<string, Json>).CallbackCommand);
    const add = (label: string, body: Buffer, raw = false) =>
      cases.push({ provider: "tencent", label: `${name}: ${label}`, body, command, raw });
    add("as documented", Buffer.from(JSON.stringify(payload)));
    for (const { label, json } of [
      ...systematicMutations(payload),
      ...combinedMutations(payload, random, COMBOS_PER_FIXTURE),
    ])
      add(label, Buffer.from(JSON.stringify(json)));
    for (const { label, body } of rawMutations(payload, random)) add(label, body, true);
    for (const patch of TENCENT_QUERY_PATCHES)
      cases.push({
        provider: "tencent",
        label: `${name}: query ${JSON.stringify(patch)}`,
        body: Buffer.from(JSON.stringify(payload)),
        patch,
        command,
      });
  }
  return cases;
}

function neteaseCases(random: Random): Case[] {
  const cases: Case[] = [];
  for (const name of fixturesOf("netease")) {
    const payload = fixture("netease", name) as Json;
    const add = (label: string, body: Buffer, raw = false) =>
      cases.push({ provider: "netease", label: `${name}: ${label}`, body, raw });
    add("as documented", Buffer.from(JSON.stringify(payload)));
    for (const { label, json } of [
      ...systematicMutations(payload),
      ...combinedMutations(payload, random, COMBOS_PER_FIXTURE),
    ])
      add(label, Buffer.from(JSON.stringify(json)));
    for (const { label, body } of rawMutations(payload, random)) add(label, body, true);
    for (const { label, attach } of ATTACH_VARIANTS)
      add(`attach ${label}`, Buffer.from(JSON.stringify({ ...(payload as Record<string, Json>), attach })));
    for (const patch of NETEASE_HEADER_PATCHES)
      cases.push({
        provider: "netease",
        label: `${name}: headers ${JSON.stringify(patch)}`,
        body: Buffer.from(JSON.stringify(payload)),
        patch,
      });
  }
  return cases;
}

/** Own-property patching: `undefined` removes the name, any other name (even `__proto__`) is set. */
function patched(
  base: Record<string, string>,
  patch: Readonly<Record<string, string | undefined>> | undefined,
): Record<string, string> {
  const out = new Map(Object.entries(base));
  for (const [name, value] of Object.entries(patch ?? {})) {
    if (value === undefined) out.delete(name);
    else out.set(name, value);
  }
  return Object.fromEntries(out);
}

/**
 * The DynamoDB document client's own verdict (dynalite does not model all of it): the content must come
 * back from marshall + unmarshall equal, with the options the store's client uses.
 */
function clientRoundTrip(content: unknown): string | undefined {
  try {
    const back = unmarshall(marshall({ content }, { removeUndefinedValues: true })).content as unknown;
    // Compared as JSON, what the API renders (-0 and 0 are the same there).
    return JSON.stringify(back) === JSON.stringify(content) ? undefined : "the DynamoDB client changes it";
  } catch (thrown: unknown) {
    return `the DynamoDB client refuses it (${thrown instanceof Error ? thrown.message.slice(0, 80) : "?"})`;
  }
}

describe(`callback fuzz (seed ${SEED})`, () => {
  let stack: LocalStack;
  let appKey: string;
  let appSecret: string;
  const writes: { method: string; id: string }[] = [];
  const spooled: string[] = [];

  beforeAll(async () => {
    stack = await startTestStack({ neteaseSimulator: true });
    appKey = stack.config.netease?.appKey ?? "";
    appSecret = stack.config.netease?.appSecret ?? "";
    // Every write and every spool, attributed to the request in flight (requests go one at a time).
    const store = stack.deps.store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    for (const method of WRITE_METHODS) {
      const original = store[method]?.bind(store);
      if (!original) continue;
      store[method] = (...args: unknown[]) => {
        const first = args[0];
        const id = typeof first === "string" ? first : String((first as { id?: unknown })?.id);
        writes.push({ method, id });
        return original(...args);
      };
    }
    const enqueue = stack.spool.enqueue.bind(stack.spool);
    stack.spool.enqueue = async (entry) => {
      spooled.push(entry.reason);
      return enqueue(entry);
    };
  });
  afterAll(async () => {
    await stack?.close();
  });

  const tencentQuery = (command: string | undefined, patch?: Case["patch"]) => {
    const requestTime = String(Math.floor(Date.now() / 1000));
    return patched(
      {
        SdkAppid: APP_ID,
        ...(command !== undefined ? { CallbackCommand: command } : {}),
        contenttype: "json",
        ClientIP: "127.0.0.1",
        OptPlatform: "RESTAPI",
        RequestTime: requestTime,
        Sign: tencentSign(CALLBACK_TOKEN, requestTime),
      },
      patch,
    );
  };
  const neteaseHeaders = (body: Buffer, patch?: Case["patch"]) => {
    const md5 = createHash("md5").update(body).digest("hex");
    const curtime = String(Date.now());
    const checksum = createHash("sha1")
      .update(appSecret + md5 + curtime)
      .digest("hex");
    return patched({ appkey: appKey, md5, curtime, checksum }, patch);
  };

  /** What an accepted callback's events must satisfy before anything is written. */
  function eventProblems(provider: Provider, events: RecorderEvent[]): string[] {
    const problems: string[] = [];
    const editor = stack.deps.editors.get(provider);
    for (const event of events) {
      const id = eventMessageId(event);
      if (!MESSAGE_ID_PATTERN.test(id)) problems.push(`id ${id}`);
      const at = "at" in event ? event.at : undefined;
      if (at !== undefined && Number.isNaN(Date.parse(at))) problems.push(`at ${at}`);
      const message = "message" in event ? event.message : undefined;
      if (message) {
        if (!KINDS.has(message.kind)) problems.push(`kind ${String(message.kind)}`);
        if (!(PROVIDER_NAMES as readonly string[]).includes(message.provider))
          problems.push(`provider ${message.provider}`);
        if (typeof message.conversation !== "string" || message.conversation === "")
          problems.push("no conversation");
        const index = `${message.provider}#${message.appId}#${message.conversation}`;
        if (Buffer.byteLength(index) > 2048) problems.push("conversation over DynamoDB's 2048-byte key");
        if (message.sender !== undefined && Buffer.byteLength(message.sender) > 1024)
          problems.push("sender over 1024 bytes");
        if (message.lookupKey !== undefined && Buffer.byteLength(message.lookupKey) > 1900)
          problems.push("lookup key over DynamoDB's key size");
        if (Number.isNaN(Date.parse(message.sentAt))) problems.push(`sentAt ${message.sentAt}`);
        for (const [name, value] of Object.entries(message.key))
          if (typeof value !== "string" || !value.isWellFormed())
            problems.push(`key.${name} ${String(value)}`);
        const storage = storageProblem({ key: message.key, conversation: message.conversation }, 8);
        if (storage) problems.push(`key: ${storage}`);
      }
      const content = "content" in event ? event.content : undefined;
      if (content) {
        const storage = storageProblem(content, CONTENT_DEPTH) ?? clientRoundTrip(content);
        if (storage) problems.push(`content: ${storage}`);
        // The read path renders every version with the editor's verdict: it must not throw.
        editor?.notRestorable(content);
      }
    }
    return problems;
  }

  it("answers no mutation with a 5xx in process, and every accepted one would be storable", {
    timeout: FUZZ_TIMEOUT_MS,
  }, () => {
    const random = new Random(SEED);
    const cases = [...tencentCases(random), ...neteaseCases(random)];
    const tally = new Tally();
    const failures: string[] = [];
    for (const c of cases) {
      const request: CallbackRequest = {
        query: c.provider === "tencent" ? tencentQuery(c.command, c.patch) : {},
        headers: c.provider === "netease" ? neteaseHeaders(c.body, c.patch) : {},
        body: c.body,
        receivedAt: new Date(),
      };
      const provider = stack.deps.providers.get(c.provider);
      if (!provider) throw new Error(`no ${c.provider} provider`);
      let status = 200;
      try {
        provider.verify(request);
        const events = provider.interpret(request);
        try {
          const problems = eventProblems(c.provider, events);
          if (problems.length > 0)
            failures.push(`${c.provider} ${c.label}: accepted but ${problems.join("; ")}`);
        } catch (thrown: unknown) {
          failures.push(`${c.provider} ${c.label}: read path throws ${String(thrown)}`);
        }
      } catch (thrown: unknown) {
        const { result, unexpected } = errorResult(thrown);
        status = result.statusCode;
        if (unexpected) failures.push(`${c.provider} ${c.label}: ${unexpected.name}: ${unexpected.message}`);
      }
      tally.add(status);
      if (!ACCEPTED_STATUSES.has(status)) failures.push(`${c.provider} ${c.label}: status ${status}`);
    }
    console.log(`callback fuzz in process (seed ${SEED}): ${tally}`);
    expect(tally.total).toBeGreaterThan(10_000);
    if (process.env.FUZZ_REPORT) writeFileSync(`${process.env.FUZZ_REPORT}.inprocess`, failures.join("\n"));
    expect(failures.slice(0, 40), `${failures.length} failures`).toEqual([]);
  });

  it("answers a seeded sample over HTTP with no 5xx, stores nothing it refuses, and reads back all it accepts", {
    timeout: FUZZ_TIMEOUT_MS,
  }, async () => {
    const random = new Random(SEED ^ 0x5eed);
    const all = [...tencentCases(random), ...neteaseCases(random)];
    const raw = all.filter((c) => c.raw === true || c.patch !== undefined);
    const cases = [
      ...raw,
      ...random.sample(
        all.filter((c) => !raw.includes(c)),
        HTTP_SAMPLE - raw.length,
      ),
    ];
    const tally = new Tally();
    const reads = new Tally();
    const failures: string[] = [];

    for (const c of cases) {
      const contentType = random.chance(0.7) ? "application/json" : random.pick(CONTENT_TYPES);
      const headers: Record<string, string> =
        contentType !== undefined ? { "content-type": contentType } : {};
      let url: string;
      if (c.provider === "tencent") {
        const query = new URLSearchParams(tencentQuery(c.command, c.patch));
        // Sometimes the command twice, or a malformed percent escape, as a proxy might pass them.
        if (random.chance(0.03)) query.append("CallbackCommand", c.command ?? "");
        const junk = random.chance(0.03) ? "&%E0%A4%A=1&%=2" : "";
        url = `${stack.url}/callbacks/tencent?${query}${junk}`;
      } else {
        url = `${stack.url}/callbacks/netease`;
        Object.assign(headers, neteaseHeaders(c.body, c.patch));
      }
      const before = writes.length;
      const spoolsBefore = spooled.length;
      const response = await request(url, { method: "POST", headers, body: c.body });
      await response.body.text();
      const status = response.statusCode;
      tally.add(status);
      const label = `${c.provider} ${c.label} (${contentType ?? "no content type"})`;
      if (!ACCEPTED_STATUSES.has(status)) failures.push(`${label}: status ${status}`);
      const written = writes.slice(before);
      if (spooled.length > spoolsBefore)
        failures.push(`${label}: acknowledged but spooled (${spooled.at(-1)})`);
      if (status >= 400 && written.length > 0)
        failures.push(
          `${label}: refused with ${status} but wrote ${written.map((w) => w.method).join(", ")}`,
        );
      if (status !== 200) continue;
      for (const id of new Set(written.filter((w) => w.method === "putHead").map((w) => w.id))) {
        const record = await get(`/v1/messages/${id}`);
        const versions = await get(`/v1/messages/${id}/versions`);
        reads.add(record.status);
        reads.add(versions.status);
        if (record.status !== 200 || versions.status !== 200) {
          failures.push(`${label}: stored ${id}, then GET ${record.status}, versions ${versions.status}`);
          continue;
        }
        const body = record.body as Record<string, unknown>;
        if (
          !KINDS.has(String(body.kind)) ||
          !STATES.has(String(body.state)) ||
          typeof body.conversation !== "string"
        )
          failures.push(`${label}: stored a malformed record ${JSON.stringify(body).slice(0, 200)}`);
      }
    }
    console.log(`callback fuzz over HTTP (seed ${SEED}): ${tally}; read-backs ${reads}`);
    if (process.env.FUZZ_REPORT) writeFileSync(`${process.env.FUZZ_REPORT}.http`, failures.join("\n"));
    expect(failures.slice(0, 40), `${failures.length} failures`).toEqual([]);
    expect(await stack.spool.pending()).toEqual([]);
  });

  it("still records normal callbacks correctly after the fuzzing", async () => {
    const msgKey = `after-fuzz-${randomUUID()}`;
    const payload = { ...fixture("tencent", "c2c-after-send"), MsgKey: msgKey };
    const query = new URLSearchParams(tencentQuery("C2C.CallbackAfterSendMsg"));
    const posted = await request(`${stack.url}/callbacks/tencent?${query}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
    });
    expect(posted.statusCode).toBe(200);
    expect(await posted.body.json()).toEqual({ ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 });
    const tencent = await get(`/v1/messages?provider=tencent&appId=${APP_ID}&msgKey=${msgKey}`);
    expect(tencent.status).toBe(200);
    expect(tencent.body).toMatchObject({
      kind: "c2c",
      state: "sent",
      version: 1,
      editable: true,
      content: {
        MsgBody: fixture("tencent", "c2c-after-send").MsgBody,
        CloudCustomData: "your cloud custom data",
      },
    });

    const msgId = String(9_000_000_000_000_000_000n + BigInt(Math.floor(Math.random() * 1e9)));
    const copy = Buffer.from(JSON.stringify({ ...fixture("netease", "copy-p2p-text"), msgidServer: msgId }));
    const copied = await request(`${stack.url}/callbacks/netease`, {
      method: "POST",
      headers: { "content-type": "application/json", ...neteaseHeaders(copy) },
      body: copy,
    });
    expect(copied.statusCode).toBe(200);
    await copied.body.text();
    const netease = await get(`/v1/messages?provider=netease&appId=${appKey}&msgId=${msgId}`);
    expect(netease.status).toBe(200);
    expect(netease.body).toMatchObject({
      kind: "p2p",
      state: "sent",
      version: 1,
      key: { msgId },
      content: { text: "hello" },
    });
  });

  async function get(path: string): Promise<{ status: number; body: unknown }> {
    const response = await request(`${stack.url}${path}`, {
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    const text = await response.body.text();
    return { status: response.statusCode, body: text === "" ? undefined : (JSON.parse(text) as unknown) };
  }
});
