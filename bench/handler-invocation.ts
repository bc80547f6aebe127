import { randomBytes } from "node:crypto";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { AFTER_SEND_COMMAND, APP_ID } from "./callbacks.ts";

/**
 * What calling the recorder handler in process takes (the recorder and rules benchmarks): a callback's
 * API Gateway v2 event on POST /callbacks/{provider}, and a Lambda context.
 */

export function callbackEvent(body: string): APIGatewayProxyEventV2 {
  const now = Date.now();
  const routeKey = "POST /callbacks/{provider}";
  const query = { SdkAppid: APP_ID, CallbackCommand: AFTER_SEND_COMMAND };
  return {
    version: "2.0",
    routeKey,
    rawPath: "/callbacks/tencent",
    rawQueryString: new URLSearchParams(query).toString(),
    headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) },
    queryStringParameters: query,
    pathParameters: { provider: "tencent" },
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: "bench",
      apiId: "bench",
      domainName: "bench.local",
      domainPrefix: "bench",
      http: {
        method: "POST",
        path: "/callbacks/tencent",
        protocol: "HTTP/1.1",
        sourceIp: "127.0.0.1",
        userAgent: "im-edit-bench",
      },
      requestId: randomBytes(8).toString("hex"),
      routeKey,
      stage: "$default",
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
  };
}

export function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: "recorder",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:local:000000000000:function:recorder",
    memoryLimitInMB: "512",
    awsRequestId: randomBytes(8).toString("hex"),
    logGroupName: "/bench/recorder",
    logStreamName: "bench",
    getRemainingTimeInMillis: () => 30_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
