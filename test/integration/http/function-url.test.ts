import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { logger } from "../../../functions/logger.ts";
import { tencentSign } from "../../../functions/providers/tencent/verify.ts";
import { handler as recorder } from "../../../functions/recorder.ts";
import { lambdaContext } from "../../../local/server.ts";
import type { LocalStack } from "../../../local/stack.ts";
import { fixture } from "../../helpers/fixtures.ts";
import { copyHeaders } from "../../helpers/netease.ts";
import { API_TOKEN, CALLBACK_TOKEN, startTestStack } from "../../helpers/stack.ts";
import { APP_ID } from "../../helpers/tencent.ts";

/**
 * The recorder behind a Lambda function URL (the stack's default callback ingress): the real handler,
 * fed events shaped as function URLs send them (payload 2.0, routeKey `$default`, no path parameters,
 * every method and path), on the local stack's store.
 */
function functionUrlEvent(
  method: string,
  rawPath: string,
  options: {
    query?: URLSearchParams;
    headers?: Record<string, string>;
    body?: Buffer;
    base64?: boolean;
  } = {},
): APIGatewayProxyEventV2 {
  const query = options.query ?? new URLSearchParams();
  const now = Date.now();
  const text =
    options.body && (options.base64 ? options.body.toString("base64") : options.body.toString("utf8"));
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString: query.toString(),
    // Function URLs lower-case header names, as HTTP APIs do.
    headers: {
      host: "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws",
      "x-forwarded-proto": "https",
      ...options.headers,
    },
    ...(query.size > 0 ? { queryStringParameters: Object.fromEntries(query) } : {}),
    ...(text !== undefined ? { body: text } : {}),
    isBase64Encoded: options.base64 === true,
    requestContext: {
      accountId: "anonymous",
      apiId: "abcdefghijklmnopqrstuvwxyz012345",
      domainName: "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws",
      domainPrefix: "abcdefghijklmnopqrstuvwxyz012345",
      http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "203.0.113.7", userAgent: "test" },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
  };
}

function signedTencentQuery(command: string): URLSearchParams {
  const requestTime = String(Math.floor(Date.now() / 1000));
  return new URLSearchParams({
    SdkAppid: APP_ID,
    CallbackCommand: command,
    contenttype: "json",
    ClientIP: "127.0.0.1",
    OptPlatform: "RESTAPI",
    RequestTime: requestTime,
    Sign: tencentSign(CALLBACK_TOKEN, requestTime),
  });
}

interface Result {
  statusCode: number;
  headers?: Record<string, unknown>;
  body?: string;
}

const invoke = async (event: APIGatewayProxyEventV2): Promise<Result> =>
  (await recorder(event, lambdaContext("recorder"))) as Result;

/** Every log call made while `act` runs, by level. */
async function logsOf(act: () => Promise<unknown>): Promise<{ level: string; args: unknown[] }[]> {
  const calls: { level: string; args: unknown[] }[] = [];
  for (const level of ["debug", "info", "warn", "error"] as const) {
    vi.spyOn(logger, level).mockImplementation((...args: unknown[]) => {
      calls.push({ level, args });
    });
  }
  await act();
  vi.restoreAllMocks();
  return calls;
}

/** The callback log line of one invocation (it must be the only info line). */
async function lineOf(event: APIGatewayProxyEventV2): Promise<Record<string, unknown>> {
  const logs = await logsOf(() => invoke(event));
  const lines = logs.filter((call) => call.level === "info" && call.args[0] === "callback");
  expect(lines).toHaveLength(1);
  return lines[0]?.args[1] as Record<string, unknown>;
}

describe("recorder behind a Lambda function URL (real handler, function-URL events)", () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({ tencentSimulator: false, neteaseSimulator: true });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await stack.close();
  });

  it("POST /callbacks/tencent: verified, recorded, acknowledged; one info line, no Sign, no body", async () => {
    // Prepare
    const msgKey = `1_2_${randomUUID()}`;
    const text = `function-url-${randomUUID()}`;
    const body = {
      ...fixture("tencent", "c2c-after-send"),
      MsgKey: msgKey,
      MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: text } }],
    };
    const query = signedTencentQuery("C2C.CallbackAfterSendMsg");
    const event = functionUrlEvent("POST", "/callbacks/tencent", {
      query,
      headers: { "content-type": "application/json" },
      body: Buffer.from(JSON.stringify(body)),
    });

    // Act
    let result: Result | undefined;
    const logs = await logsOf(async () => {
      result = await invoke(event);
    });

    // Assess
    expect(result?.statusCode).toBe(200);
    expect(JSON.parse(result?.body ?? "")).toMatchObject({ ActionStatus: "OK", ErrorCode: 0 });
    // Stored: the line says so, and the same callback again is a duplicate of what is in the store.
    expect(logs).toEqual([
      {
        level: "info",
        args: [
          "callback",
          {
            provider: "tencent",
            command: "C2C.CallbackAfterSendMsg",
            outcome: "stored",
            events: [expect.stringMatching(/^sent:c2c_[a-z2-7]+:created$/)],
            status: 200,
            durationMs: expect.any(Number),
          },
        ],
      },
    ]);
    expect((await lineOf(event)).events).toEqual([expect.stringMatching(/:duplicate$/)]);
    const logged = JSON.stringify(logs);
    for (const secret of [query.get("Sign") ?? "?", text, query.toString(), API_TOKEN]) {
      expect(logged).not.toContain(secret);
    }
  });

  it("POST /callbacks/netease with a base64 body (as function URLs deliver non-text types): recorded", async () => {
    // Prepare
    const appKey = stack.config.netease?.appKey ?? "";
    const msgidServer = String(Date.now()) + String(Math.floor(Math.random() * 1e6));
    const bytes = Buffer.from(JSON.stringify({ ...fixture("netease", "copy-p2p-text"), msgidServer }));
    const event = functionUrlEvent("POST", "/callbacks/netease", {
      headers: {
        "content-type": "application/octet-stream",
        ...copyHeaders(bytes, Date.now(), stack.config.netease?.appSecret),
        appkey: appKey,
      },
      body: bytes,
      base64: true,
    });

    // Act
    const first = await lineOf(event);
    const again = await lineOf(event);

    // Assess
    expect(first).toMatchObject({
      provider: "netease",
      outcome: "stored",
      events: [expect.stringMatching(/:created$/)],
      status: 200,
    });
    expect(again).toMatchObject({
      outcome: "stored",
      events: [expect.stringMatching(/:duplicate$/)],
      status: 200,
    });
  });

  it("an unsigned callback is refused with 401 and logged as one line, refused", async () => {
    // Prepare
    const query = signedTencentQuery("C2C.CallbackAfterSendMsg");
    query.set("Sign", "0".repeat(64));
    const event = functionUrlEvent("POST", "/callbacks/tencent", {
      query,
      headers: { "content-type": "application/json" },
      body: Buffer.from(JSON.stringify(fixture("tencent", "c2c-after-send"))),
    });

    // Act
    let result: Result | undefined;
    const logs = await logsOf(async () => {
      result = await invoke(event);
    });

    // Assess
    expect(result?.statusCode).toBe(401);
    expect(logs).toEqual([
      {
        level: "info",
        args: ["callback", expect.objectContaining({ provider: "tencent", outcome: "refused", status: 401 })],
      },
    ]);
  });

  it("the URL takes every method and path: only POST /callbacks/{provider} is a route here", async () => {
    // Act
    const wrongMethod = await invoke(functionUrlEvent("GET", "/callbacks/tencent"));
    const unknownProvider = await invoke(functionUrlEvent("POST", "/callbacks/nope"));
    const editorRoute = await invoke(functionUrlEvent("GET", "/v1/messages"));
    const nowhere = await invoke(functionUrlEvent("POST", "/"));

    // Assess
    expect(wrongMethod.statusCode).toBe(405);
    expect(wrongMethod.headers).toMatchObject({ allow: "POST" });
    expect([unknownProvider, editorRoute, nowhere].map((result) => result.statusCode)).toEqual([
      404, 404, 404,
    ]);
  });
});
