import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SQSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createForwarder } from "../../functions/adapters/relay/http-forwarder.ts";
import { loadConfig } from "../../functions/config.ts";
import type { DeadLetterPolicy, DeadLetterReason } from "../../functions/core/dead-letters.ts";
import { MisconfiguredError } from "../../functions/core/errors.ts";
import { deliverForward, ForwardFailure, forwardOf } from "../../functions/core/forwarding.ts";
import type { CallbackRelay, Forward } from "../../functions/core/relay.ts";
import { deliverForwards, handler } from "../../functions/forwarder.ts";
import { logger } from "../../functions/logger.ts";
import {
  createRelayDependencies,
  relayDependencies,
  setRelayDependencies,
} from "../../functions/wiring/relay.ts";
import { lambdaContext } from "../../local/server.ts";
import { APP_TOKEN, appSign, forwardApp, signingRelay, tickingClock } from "../helpers/forward-app.ts";
import { sqsEvent as batchOf } from "../helpers/sqs-event.ts";

const FORWARD_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:im-edit-ForwardQueue";

const sqsEvent = (bodies: readonly string[], receiveCount = 1): SQSEvent =>
  batchOf(bodies, { receiveCount, arn: FORWARD_QUEUE_ARN });

const BODY = Buffer.from('{"CallbackCommand":"Group.CallbackAfterSendMsg","MsgBody":[{"Text":"你好"}]}');

function forwardTo(relay: CallbackRelay, body = BODY): Forward {
  return forwardOf(
    {
      query: {},
      rawQuery: "SdkAppid=1400000000&CallbackCommand=Group.CallbackAfterSendMsg&RequestTime=1&Sign=x",
      headers: { "content-type": "application/json" },
      body,
      receivedAt: new Date("2026-11-23T12:00:00.000Z"),
    },
    "tencent",
    relay,
  );
}

/** A dead-letter policy keeping its letters and the retry delays it was asked for. */
function policy(maxReceives = 8) {
  const letters: { body: string; reason: DeadLetterReason }[] = [];
  const delays: { receipt: string; seconds: number }[] = [];
  const p: DeadLetterPolicy = {
    letters: {
      put: async (body, reason) => {
        letters.push({ body, reason });
      },
    },
    maxReceives,
    source: "forward-queue",
    retryAfter: async (receipt, seconds) => {
      delays.push({ receipt, seconds });
    },
  };
  return { policy: p, letters, delays };
}

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const relay = signingRelay("https://app.example/callback");

describe("deliverForwards: the forward queue's consumer", () => {
  it("delivers each forward once more, re-signed, the same bytes; a 503 comes back, then goes through", async () => {
    // Prepare
    const app = await forwardApp((n, _req, res) => res.writeHead(n === 0 ? 503 : 204).end());
    cleanup.push(app.close);
    const to = signingRelay(app.url);
    const forwarder = createForwarder({ maxResponseBytes: 1024 });
    cleanup.push(() => forwarder.close());
    const now = tickingClock();
    const deliver = (forward: Forward) =>
      deliverForward(forward, { relay: to, forwarder, timeoutMs: 1000, now });
    const dead = policy();
    const body = JSON.stringify(forwardTo(to));

    // Act
    const first = await deliverForwards(sqsEvent([body], 1), { deliver, policy: dead.policy });
    const second = await deliverForwards(sqsEvent([body], 2), { deliver, policy: dead.policy });

    // Assess
    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: "m0" }] });
    expect(dead.delays).toHaveLength(1);
    expect(second).toEqual({ batchItemFailures: [] });
    expect(dead.letters).toEqual([]);
    expect(app.received).toHaveLength(2);
    for (const got of app.received) {
      expect(got.body.equals(BODY)).toBe(true);
      expect(got.query.get("Sign")).toBe(appSign(got.query.get("RequestTime") ?? ""));
    }
    expect(app.received[0]?.query.get("Sign")).not.toBe(app.received[1]?.query.get("Sign"));
  });

  it("puts aside at once what is not a forward and what the app refused; retries only the rest", async () => {
    // Prepare
    const refused = forwardTo(relay, Buffer.from("refused"));
    const busy = forwardTo(relay, Buffer.from("busy"));
    const fine = forwardTo(relay, Buffer.from("fine"));
    const deliver = async (forward: Forward) => {
      if (forward.id === refused.id) {
        throw new ForwardFailure(false, { code: "app_status", message: "the app answered 404", status: 404 });
      }
      if (forward.id === busy.id) {
        throw new ForwardFailure(true, { code: "timeout", message: "did not answer within 5000 ms" });
      }
    };
    const dead = policy();
    const bodies = [
      JSON.stringify(refused),
      "{not json",
      JSON.stringify({ provider: "tencent", id: "x" }),
      JSON.stringify(busy),
      JSON.stringify(fine),
    ];

    // Act
    const result = await deliverForwards(sqsEvent(bodies, 3), { deliver, policy: dead.policy });

    // Assess
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: "m3" }] });
    expect(dead.letters.map(({ body }) => body)).toEqual(bodies.slice(0, 3));
    expect(
      dead.letters.map(({ reason }) => [reason.code, reason.status, reason.receiveCount, reason.source]),
    ).toEqual([
      ["app_status", 404, 3, FORWARD_QUEUE_ARN],
      ["not_json", undefined, 3, FORWARD_QUEUE_ARN],
      ["not_a_forward", undefined, 3, FORWARD_QUEUE_ARN],
    ]);
    expect(dead.delays).toEqual([{ receipt: "r3", seconds: expect.any(Number) }]);
  });

  it("dead-letters a retryable failure on its last receive with that last reason", async () => {
    // Prepare
    const deliver = async () => {
      throw new ForwardFailure(true, { code: "app_status", message: "the app answered 503", status: 503 });
    };
    const dead = policy(8);
    const body = JSON.stringify(forwardTo(relay));

    // Act
    const result = await deliverForwards(sqsEvent([body], 8), { deliver, policy: dead.policy });

    // Assess
    expect(result).toEqual({ batchItemFailures: [] });
    expect(dead.letters).toEqual([
      {
        body,
        reason: {
          code: "app_status",
          message: "the app answered 503",
          status: 503,
          receiveCount: 8,
          source: FORWARD_QUEUE_ARN,
        },
      },
    ]);
  });

  it("dead-letters a forward whose app secret is unusable as misconfigured, saying no secret", async () => {
    // Prepare
    const unusable: CallbackRelay = {
      ...relay,
      sign: () => {
        throw new MisconfiguredError(`TENCENT_FORWARD_CALLBACK_TOKEN (${APP_TOKEN}) is unusable`);
      },
    };
    const forwarder = { send: async () => ({ status: 200, body: Buffer.alloc(0) }) };
    const deliver = (forward: Forward) =>
      deliverForward(forward, { relay: unusable, forwarder, timeoutMs: 1 });
    const dead = policy();

    // Act
    const result = await deliverForwards(sqsEvent([JSON.stringify(forwardTo(relay))]), {
      deliver,
      policy: dead.policy,
    });

    // Assess
    expect(result).toEqual({ batchItemFailures: [] });
    expect(dead.letters[0]?.reason.code).toBe("misconfigured");
    expect(JSON.stringify(dead.letters[0]?.reason)).not.toContain(APP_TOKEN);
  });
});

describe("the forwarder function (handler)", () => {
  afterEach(() => setRelayDependencies(undefined));

  it("delivers a queued forward through the dependencies' relay, signed with the app's own token", async () => {
    // Prepare
    const app = await forwardApp((_n, _req, res) => res.writeHead(200).end());
    cleanup.push(app.close);
    const config = loadConfig({
      TABLE_NAME: "t",
      AWS_REGION: "local",
      TENCENT_SDKAPPID: "1400000000",
      TENCENT_CALLBACK_TOKEN: "im-edit-token",
      TENCENT_CALLBACK_FORWARD_URL: app.url,
      TENCENT_FORWARD_CALLBACK_TOKEN: APP_TOKEN,
    });
    const dead = policy();
    const deps = createRelayDependencies(config, { deadLetters: { forward: dead.policy } });
    cleanup.push(async () => deps.relay.forwarder.close?.());
    setRelayDependencies(deps);
    const forward = forwardTo(relay);

    // Act
    const result = await handler(sqsEvent([JSON.stringify(forward)]), lambdaContext("forwarder"));

    // Assess
    expect(result).toEqual({ batchItemFailures: [] });
    expect(app.received).toHaveLength(1);
    const got = app.received[0];
    expect(got?.body.equals(BODY)).toBe(true);
    expect(got?.query.get("Sign")).toBe(appSign(got?.query.get("RequestTime") ?? ""));
    expect(got?.headers["x-im-edit-forward-id"]).toBe(forward.id);
    expect(dead.letters).toEqual([]);
  });

  it("sends every record back to the queue while the configuration cannot load", async () => {
    // Prepare: no TABLE_NAME in this process's environment
    setRelayDependencies(undefined);

    // Act
    const result = await handler(sqsEvent(["{}", "{}"]), lambdaContext("forwarder"));

    // Assess
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: "m0" }, { itemIdentifier: "m1" }] });
  });
});

describe("relayDependencies(): the forwarder's cold start", () => {
  const saved = { ...process.env };
  const secretsManager = mockClient(SecretsManagerClient);
  afterEach(() => {
    vi.restoreAllMocks();
    secretsManager.reset();
    setRelayDependencies(undefined);
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  });

  it("reports only the forwards it will refuse, never the recorder's unsigned-callback warning", async () => {
    // Prepare: no callback token (the recorder warns about it), a forward secret that resolved blank.
    Object.assign(process.env, {
      TABLE_NAME: "t",
      AWS_REGION: "local",
      TENCENT_SDKAPPID: "1400000000",
      TENCENT_CALLBACK_FORWARD_URL: "https://app.example/im",
      TENCENT_FORWARD_CALLBACK_TOKEN_SECRET_ARN: "arn:f",
    });
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: "" });
    const warn = vi.spyOn(logger, "warn").mockImplementation(() => {});
    const error = vi.spyOn(logger, "error").mockImplementation(() => {});

    // Act
    const deps = await relayDependencies();
    await deps.relay.queue?.close?.();

    // Assess
    expect(warn).not.toHaveBeenCalled();
    expect(error).toHaveBeenCalledTimes(1);
    expect(String(error.mock.calls[0]?.[0])).toMatch(/^tencent forwards will be refused: TENCENT_FORWARD/);
  });
});
