import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import fc from "fast-check";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as editor } from "../../functions/editor.ts";
import type { HttpResult } from "../../functions/http/respond.ts";
import { matchRoute, routeKey } from "../../functions/http/routes.ts";
import { provisionalGroupId } from "../../functions/providers/tencent/identity.ts";
import { apiGatewayEvent, lambdaContext } from "../../local/server.ts";
import type { LocalStack } from "../../local/stack.ts";
import { fixture } from "../helpers/fixtures.ts";
import { neteaseApp } from "../helpers/netease-app.ts";
import { API_TOKEN, api, postTencent, startTestStack } from "../helpers/stack.ts";
import { APP_ID } from "../helpers/tencent.ts";
import { tencentApp } from "../helpers/tencent-app.ts";
import { fuzzSeed, HOSTILE_VALUES, type Json, nested, Random, Tally, withOwn } from "./mutate.ts";

/**
 * API fuzz: every /v1 route with junk ids (malformed, huge, unicode, percent-encoded), query parameters
 * (inherited names like `constructor` included), headers (If-Match, Idempotency-Key, X-Actor) and bodies
 * of every shape, against a stack holding real messages on both simulators. Many requests run in process
 * against the editor handler with the very event the local server builds (apiGatewayEvent); a seeded
 * sample, plus what only a server sees (auth, methods, unknown paths), goes over real HTTP.
 *
 * Asserted: no 5xx, ever; an unknown or malformed id answers 404 on GET (ARCHITECTURE.md).
 */
const SEED = fuzzSeed();
/** Generous: the suites take seconds alone, longer beside the rest of `npm test` on 2 cores. */
const FUZZ_TIMEOUT_MS = 120_000;
const IN_PROCESS = 4_000;
const OVER_HTTP = 1_500;

interface ApiCase {
  readonly label: string;
  readonly method: string;
  /** Path and query as sent, percent-encoding included. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
  /** The contract's exact answer, when the case pins one. */
  readonly expect?: number;
}

const MALFORMED_IDS = [
  "x",
  "c".repeat(300),
  "c".repeat(5_000),
  `c2c_${"a".repeat(27)}`,
  `C2C_${"A".repeat(26)}`,
  `c2c_${"a".repeat(25)}1`,
  "constructor",
  "__proto__",
  "toString",
  "hasOwnProperty",
  ".",
  "..",
  "%2e%2e",
  "..%2F..%2Fetc",
  "%",
  "%%",
  "%ZZ",
  "%E0%A4%A",
  "%ED%A0%80",
  "%C0%80",
  "%FF",
  "%00",
  "c2c_%00",
  encodeURIComponent("消息🙂"),
  encodeURIComponent("\u202e"),
  "%20",
  "a%2Fb",
  "null",
  "undefined",
];

const QUERY_VALUES = [
  "",
  "x",
  "constructor",
  "__proto__",
  "toString",
  "-1",
  "0",
  "1",
  "20",
  "100",
  "101",
  "1e3",
  "1.5",
  "NaN",
  "Infinity",
  "99999999999999999999",
  "2026-13-45",
  "2026-01-01",
  "2026-01-01T00:00:00Z",
  "9999-12-31T23:59:59Z",
  "+275760-09-13T00:00:00.000Z",
  "0000-01-01",
  "y".repeat(2_000),
  "界".repeat(1_000),
  "界".repeat(600),
  "消息",
  "🙂",
  "a,b",
  "c2c:a:b",
];

const token = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const NEXT_TOKENS = [
  "garbage",
  "",
  token({}),
  token([]),
  token("x"),
  token(null),
  token({ c: 1 }),
  token({ c: "zzzz" }),
  token({ c: "" }),
  token({ pk: "M#x", sk: "V#0000000001" }),
  token({ pk: { S: "x" }, sk: "H" }),
  token(withOwn({ pk: "M#x", sk: "H" }, "__proto__", "x")),
  token({ constructor: "x", pk: "M#x", sk: "H" }),
  token({ convPk: "tencent#1400000000#c2c:a:b", pk: "M#x", sk: "H", convSk: "x" }),
  token({ senderPk: `tencent#${APP_ID}#u`, pk: "M#c2c_aaaaaaaaaaaaaaaaaaaaaaaaaa", sk: "H", senderSk: "z" }),
  Buffer.alloc(3_000, 0xff).toString("base64url"),
  "%ED%A0%80",
];

const LIST_PARAMETERS = [
  "conversation",
  "sender",
  "since",
  "until",
  "limit",
  "nextToken",
  "msgKey",
  "from",
  "to",
  "groupId",
  "msgSeq",
  "topicId",
  "msgId",
  "constructor",
  "__proto__",
  "toString",
  "hasOwnProperty",
  "valueOf",
];

const IF_MATCH = ['"1"', "1", 'W/"2"', '"999999999999"', "*", "", "-1", '"a"', "1,2", '"1', "9".repeat(40)];
const IDEMPOTENCY_KEYS = ["k", "", " ", "constructor", "__proto__", "x".repeat(255), "x".repeat(300), "a b"];
const ACTORS = ["", "constructor", "a".repeat(1_000), "ops team", "__proto__"];

/** Edit and restore bodies aimed at the schemas and the store, besides fast-check's arbitrary JSON. */
function targetedBodies(): Json[] {
  const element = (type: string, content: Json = { Text: "x" }): Json => [
    { MsgType: type, MsgContent: content },
  ];
  const bodies: Json[] = [
    { text: "edited" },
    { text: "" },
    { MsgBody: element("TIMTextElem") },
    { CloudCustomData: "meta" },
    { MsgBody: [], CloudCustomData: "" },
    { attachment: { a: 1 } },
    { extension: "x" },
    { text: "x", extension: "e", attachment: { b: [1, 2] } },
    { version: 1 },
    { version: 2 },
    { reason: "gdpr" },
    {},
    [],
    null,
    { text: "\ud800" },
    { text: "x".repeat(6_000) },
    { CloudCustomData: "x".repeat(13_000) },
    { MsgBody: nested(30) },
    { attachment: { deep: nested(30) } },
    { attachment: { big: 2 ** 60 } },
    { attachment: { small: 1e-200 } },
    { attachment: { constructor: "x" } },
    { attachment: { constructor: { name: "Set" } } },
    { attachment: { constructor: { name: "Uint8Array" }, length: 0 } },
    { attachment: withOwn({ a: 1 }, "__proto__", { polluted: true }) },
    { MsgBody: element("TIMTextElem", { Text: "x", constructor: "y" }) },
    { MsgBody: element("TIMCustomElem", { Data: "d", Size: 2 ** 53 + 2 }) },
    withOwn({}, "__proto__", { text: "x" }),
    { constructor: { text: "x" } },
  ];
  for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
    bodies.push({ MsgBody: element(name, {}) });
    bodies.push({ text: name });
  }
  for (const { value } of HOSTILE_VALUES) {
    bodies.push({ text: value });
    bodies.push({ MsgBody: value });
    bodies.push({ version: value });
    bodies.push({ attachment: value });
  }
  return bodies;
}

const RAW_BODIES: readonly (readonly [string, Buffer])[] = [
  ["empty", Buffer.alloc(0)],
  ["truncated", Buffer.from('{"text":"x')],
  ["invalid UTF-8", Buffer.from([0x7b, 0xff, 0x7d])],
  ["BOM", Buffer.from('\ufeff{"text":"x"}')],
  ["over 64 KB", Buffer.from(JSON.stringify({ text: "x".repeat(70_000) }))],
  ["duplicate keys", Buffer.from('{"text":"a","text":{"x":1}}')],
  ["1e400", Buffer.from('{"version":1e400}')],
  ["deep", Buffer.from(`{"MsgBody":${"[".repeat(20_000)}${"]".repeat(20_000)}}`)],
];

describe(`API fuzz (seed ${SEED})`, () => {
  let stack: LocalStack;
  let realIds: string[] = [];
  let unknownIds: string[] = [];
  let conversations: string[] = [];
  let appKey = "";
  let bodies: Json[] = [];

  beforeAll(async () => {
    stack = await startTestStack({
      neteaseSimulator: true,
      env: { EDIT_WAIT_MS: "300", TENCENT_RECORD_AVCHATROOM: "true" },
    });
    appKey = stack.config.netease?.appKey ?? "";
    // Real messages of every kind and state: sent C2C, recalled C2C, group, topic, pending provisional, Yunxin.
    const tencent = tencentApp(stack);
    const byKey = async (query: string) => {
      const found = await api(stack.url, `/v1/messages?${query}`);
      if (found.status !== 200) throw new Error(`seed lookup ${query}: ${found.status}`);
      return found.body as { id: string; conversation: string };
    };
    const sent = [];
    for (const text of ["one", "two"]) {
      const msgKey = await tencent.sendC2C(`u${text}`, "peer", text, "meta");
      sent.push(await byKey(`provider=tencent&appId=${APP_ID}&msgKey=${msgKey}`));
    }
    const recalledKey = await tencent.sendC2C("urecall", "peer", "gone");
    const recalled = await byKey(`provider=tencent&appId=${APP_ID}&msgKey=${recalledKey}`);
    await tencent.recallC2C("urecall", "peer", recalledKey);
    stack.tencent?.createGroup("fuzz-group", "Public");
    const seq = await tencent.sendGroup("fuzz-group", "member", "group hello");
    const group = await byKey(`provider=tencent&appId=${APP_ID}&groupId=fuzz-group&msgSeq=${seq}`);
    const random = 424_242;
    await postTencent(stack.url, { ...fixture("tencent", "group-before-send"), Random: random });
    const before = fixture("tencent", "group-before-send");
    const pending = provisionalGroupId(
      APP_ID,
      String(before.GroupId),
      String(before.TopicId),
      String(before.From_Account),
      random,
    );
    const yunxin = neteaseApp(stack);
    const msgId = await yunxin.sendText("alice", "bob", "hello");
    const copy = await byKey(`provider=netease&appId=${appKey}&msgId=${msgId}`);
    realIds = [...sent.map((r) => r.id), recalled.id, group.id, pending, copy.id];
    conversations = [...sent, group, copy].map((r) => r.conversation);
    unknownIds = ["c2c_", "grp_", "nim_", "pgrp_", "zz_"].map((prefix) => `${prefix}${"a".repeat(26)}`);
    bodies = [
      ...targetedBodies(),
      ...fc.sample(fc.jsonValue({ maxDepth: 4 }), { seed: SEED, numRuns: 300 }).map((v) => v as Json),
    ];
  });
  afterAll(async () => {
    await stack?.close();
  });

  function generate(random: Random, count: number): ApiCase[] {
    const cases: ApiCase[] = [];
    const anyId = () => {
      const roll = random.next();
      if (roll < 0.4) return { id: random.pick(realIds), real: true };
      if (roll < 0.55) return { id: random.pick(unknownIds), real: false };
      return { id: random.pick(MALFORMED_IDS), real: false };
    };
    const writeHeaders = () => {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (random.chance(0.3)) headers["if-match"] = random.pick(IF_MATCH);
      if (random.chance(0.3))
        headers["idempotency-key"] = `${random.pick(IDEMPOTENCY_KEYS)}${random.int(50)}`;
      if (random.chance(0.2)) headers["x-actor"] = random.pick(ACTORS);
      if (random.chance(0.05))
        headers["content-type"] = random.pick(["text/plain", "application/octet-stream"]);
      return headers;
    };
    const body = (): { body: Buffer; label: string } => {
      if (random.chance(0.08)) {
        const [label, bytes] = random.pick(RAW_BODIES);
        return { body: bytes, label };
      }
      const value = random.pick(bodies);
      const text = JSON.stringify(value) ?? "null";
      return { body: Buffer.from(text), label: text.slice(0, 60) };
    };
    const query = (names: readonly string[], extra: Record<string, string> = {}) => {
      const parameters = new URLSearchParams(extra);
      for (const name of random.sample(names, random.int(4))) {
        const value =
          name === "nextToken"
            ? random.pick(NEXT_TOKENS)
            : name === "conversation" && random.chance(0.5)
              ? random.pick(conversations)
              : random.pick(QUERY_VALUES);
        parameters.append(name, value);
      }
      const text = parameters.toString();
      return text === "" ? "" : `?${text}`;
    };
    for (let i = 0; i < count; i++) {
      const roll = random.next();
      if (roll < 0.18) {
        const { id, real } = anyId();
        cases.push({
          label: `GET ${id.slice(0, 40)}`,
          method: "GET",
          path: `/v1/messages/${id}`,
          headers: {},
          ...(real ? {} : { expect: 404 }),
        });
      } else if (roll < 0.32) {
        const { id, real } = anyId();
        const q = random.chance(0.5) ? query(["limit", "nextToken", "constructor", "toString"]) : "";
        cases.push({
          label: `GET ${id.slice(0, 40)}/versions${q.slice(0, 60)}`,
          method: "GET",
          path: `/v1/messages/${id}/versions${q}`,
          headers: {},
          ...(real || q !== "" ? {} : { expect: 404 }),
        });
      } else if (roll < 0.55) {
        const provider = random.chance(0.85)
          ? random.pick(["tencent", "netease"])
          : random.pick(QUERY_VALUES);
        const appId = random.chance(0.85)
          ? provider === "netease"
            ? appKey
            : APP_ID
          : random.pick(QUERY_VALUES);
        const q = query(LIST_PARAMETERS, { provider, appId });
        cases.push({
          label: `GET list${q.slice(0, 120)}`,
          method: "GET",
          path: `/v1/messages${q}`,
          headers: {},
        });
      } else if (roll < 0.72) {
        const { id } = anyId();
        const { body: bytes, label } = body();
        cases.push({
          label: `PATCH ${id.slice(0, 40)} ${label}`,
          method: "PATCH",
          path: `/v1/messages/${id}`,
          headers: writeHeaders(),
          body: bytes,
        });
      } else if (roll < 0.78) {
        const q = query(LIST_PARAMETERS, { provider: random.pick(["tencent", "netease"]), appId: APP_ID });
        const { body: bytes, label } = body();
        cases.push({
          label: `PATCH by key${q.slice(0, 80)} ${label}`,
          method: "PATCH",
          path: `/v1/messages${q}`,
          headers: writeHeaders(),
          body: bytes,
        });
      } else if (roll < 0.93) {
        const { id } = anyId();
        const { body: bytes, label } = random.chance(0.5)
          ? {
              body: Buffer.from(JSON.stringify({ version: random.pick([1, 2, 3, 0, -1, 1.5, 2 ** 53]) })),
              label: "version",
            }
          : body();
        cases.push({
          label: `POST ${id.slice(0, 40)}/restore ${label}`,
          method: "POST",
          path: `/v1/messages/${id}/restore`,
          headers: writeHeaders(),
          body: bytes,
        });
      } else {
        const { id } = anyId();
        const q = query(["reason", "constructor"]);
        const withBody = random.chance(0.5) ? body() : undefined;
        cases.push({
          label: `DELETE ${id.slice(0, 40)}/versions${q.slice(0, 60)}`,
          method: "DELETE",
          path: `/v1/messages/${id}/versions${q}`,
          headers: { ...(withBody ? { "content-type": "application/json" } : {}), "x-actor": "fuzz" },
          ...(withBody ? { body: withBody.body } : {}),
        });
      }
    }
    return cases;
  }

  /** Cases only a server meets: authentication, methods, paths no route matches. */
  function serverOnly(random: Random): ApiCase[] {
    const id = random.pick(realIds);
    const cases: ApiCase[] = [
      {
        label: "no token",
        method: "GET",
        path: `/v1/messages/${id}`,
        headers: { authorization: "" },
        expect: 401,
      },
      {
        label: "wrong token",
        method: "GET",
        path: `/v1/messages/${id}`,
        headers: { authorization: "Bearer x" },
        expect: 401,
      },
      {
        label: "basic auth",
        method: "GET",
        path: "/v1/messages",
        headers: { authorization: "Basic eDp5" },
        expect: 401,
      },
      { label: "PUT", method: "PUT", path: `/v1/messages/${id}`, headers: {}, expect: 405 },
      { label: "POST list", method: "POST", path: "/v1/messages", headers: {}, expect: 405 },
      { label: "OPTIONS", method: "OPTIONS", path: `/v1/messages/${id}`, headers: {} },
      {
        label: "extra segment",
        method: "GET",
        path: `/v1/messages/${id}/versions/1`,
        headers: {},
        expect: 404,
      },
      { label: "double slash", method: "GET", path: "/v1//messages", headers: {}, expect: 404 },
      { label: "empty id", method: "GET", path: "/v1/messages/", headers: {}, expect: 404 },
      { label: "trailing slash", method: "GET", path: `/v1/messages/${id}/`, headers: {}, expect: 404 },
      { label: "long path", method: "GET", path: `/v1/messages/${"a".repeat(12_000)}`, headers: {} },
      { label: "query only", method: "GET", path: "/v1/messages?", headers: {} },
      {
        label: "query junk",
        method: "GET",
        path: "/v1/messages?%=&&=&%ZZ=1&provider=tencent&appId=1",
        headers: {},
      },
      {
        label: "repeated",
        method: "GET",
        path: `/v1/messages?provider=tencent&provider=netease&appId=${APP_ID}`,
        headers: {},
      },
      { label: "unknown", method: "GET", path: "/v2/messages", headers: {}, expect: 404 },
    ];
    return cases;
  }

  it("answers no request with a 5xx, in process through the editor handler", {
    timeout: FUZZ_TIMEOUT_MS,
  }, async () => {
    const random = new Random(SEED);
    const tally = new Tally();
    const failures: string[] = [];
    for (const c of generate(random, IN_PROCESS)) {
      const url = new URL(c.path, "http://local");
      const match = matchRoute(c.method, url.pathname);
      // Dot segments ("..", "%2e%2e") resolve away in URL parsing, here as in the server: no route, the
      // server's own 404 (covered over HTTP).
      if (!match || "allowed" in match) continue;
      const event = apiGatewayEvent(
        { method: c.method, url, headers: c.headers, body: c.body ?? Buffer.alloc(0) },
        routeKey(match.route),
        match.pathParameters,
      );
      let status: number;
      try {
        const result = (await editor(
          event as APIGatewayProxyEventV2 & Record<string, unknown>,
          lambdaContext("editor"),
        )) as HttpResult;
        status = result.statusCode;
      } catch (thrown: unknown) {
        status = 599;
        failures.push(`${c.label}: handler threw ${String(thrown)}`);
      }
      tally.add(status);
      if (status >= 500) failures.push(`${c.label}: ${status}`);
      if (c.expect !== undefined && status !== c.expect)
        failures.push(`${c.label}: ${status}, not ${c.expect}`);
    }
    console.log(`API fuzz in process (seed ${SEED}): ${tally}`);
    if (process.env.FUZZ_REPORT)
      writeFileSync(`${process.env.FUZZ_REPORT}.api-inprocess`, failures.join("\n"));
    expect(failures.slice(0, 40), `${failures.length} failures`).toEqual([]);
  });

  it("answers no request with a 5xx over HTTP, server-only cases included", {
    timeout: FUZZ_TIMEOUT_MS,
  }, async () => {
    const random = new Random(SEED ^ 0xa91);
    const tally = new Tally();
    const failures: string[] = [];
    for (const c of [...serverOnly(random), ...generate(random, OVER_HTTP)]) {
      const headers = { authorization: `Bearer ${API_TOKEN}`, ...c.headers };
      if (headers.authorization === "") delete (headers as Record<string, string>).authorization;
      let status: number;
      try {
        const response = await request(`${stack.url}${c.path}`, {
          method: c.method as "GET",
          headers,
          ...(c.body !== undefined ? { body: c.body } : {}),
        });
        await response.body.dump();
        status = response.statusCode;
      } catch (thrown: unknown) {
        status = 599;
        failures.push(`${c.label}: request failed ${String(thrown)}`);
      }
      tally.add(status);
      if (status >= 500) failures.push(`${c.label}: ${status}`);
      if (c.expect !== undefined && status !== c.expect)
        failures.push(`${c.label}: ${status}, not ${c.expect}`);
    }
    console.log(`API fuzz over HTTP (seed ${SEED}): ${tally}`);
    if (process.env.FUZZ_REPORT) writeFileSync(`${process.env.FUZZ_REPORT}.api-http`, failures.join("\n"));
    expect(failures.slice(0, 40), `${failures.length} failures`).toEqual([]);
  });

  it("still serves the seeded messages afterwards", async () => {
    for (const id of realIds) {
      const record = await api(stack.url, `/v1/messages/${id}`);
      expect(record.status).toBe(200);
      expect((await api(stack.url, `/v1/messages/${id}/versions`)).status).toBe(200);
    }
    const sent = await tencentApp(stack).sendC2C("after", "fuzz", `hello ${randomUUID()}`);
    expect(
      (await api(stack.url, `/v1/messages?provider=tencent&appId=${APP_ID}&msgKey=${sent}`)).status,
    ).toBe(200);
  });
});
