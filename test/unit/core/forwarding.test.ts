import { describe, expect, it } from "vitest";
import { MisconfiguredError } from "../../../functions/core/errors.ts";
import {
  callbackForwardRequest,
  deliverForward,
  ForwardFailure,
  forwardId,
  forwardOf,
  forwardRequest,
  retryableStatus,
} from "../../../functions/core/forwarding.ts";
import type {
  CallbackRelay,
  Forward,
  ForwardAnswer,
  Forwarder,
  ForwardRequest,
} from "../../../functions/core/relay.ts";
import { APP_TOKEN, appSign, failureOf, signingRelay } from "../../helpers/forward-app.ts";

/**
 * A Tencent-like relay keeping a provider header: Sign/RequestTime in the query, recomputed with the app's
 * token at `now`. Its signer also sets a host header, which the forward must not pass on.
 */
function relay(overrides: Partial<CallbackRelay> = {}): CallbackRelay {
  const signing = signingRelay("https://app.example/callback");
  return {
    ...signing,
    headers: ["x-provider-trace"],
    sign: (forward, now) => {
      const signed = signing.sign(forward, now);
      return { ...signed, headers: { ...signed.headers, host: "im-edit.example" } };
    },
    ...overrides,
  };
}

const BODY = Buffer.from('{"CallbackCommand":"C2C.CallbackAfterSendMsg","MsgBody":[{"Text":"你好"}]}');

function request(query: string, body: Buffer = BODY) {
  return {
    query: Object.fromEntries(new URLSearchParams(query)),
    rawQuery: query,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "user-agent": "Tencent-IM",
      "x-provider-trace": "t-1",
      host: "im-edit.example",
      "content-length": String(body.length),
      cookie: "never-forwarded",
    },
    body,
    receivedAt: new Date("2026-11-23T12:00:00.000Z"),
    sourceIp: "203.0.113.7",
  };
}

const QUERY = "SdkAppid=1400000000&CallbackCommand=C2C.CallbackAfterSendMsg&contenttype=json";

/** A forwarder answering from a script, keeping what it was sent. */
function forwarder(answer: (request: ForwardRequest) => Promise<ForwardAnswer> | ForwardAnswer) {
  const sent: ForwardRequest[] = [];
  const f: Forwarder & { sent: ForwardRequest[] } = {
    sent,
    send: async (req) => {
      sent.push(req);
      return answer(req);
    },
  };
  return f;
}

describe("forwardOf", () => {
  it("keeps the body bytes and the query as received, the kept headers only, and who and what", () => {
    // Prepare
    const query = `${QUERY}&RequestTime=1795000000&Sign=abc`;

    // Act
    const forward = forwardOf(request(query), "tencent", relay(), "tencent:1400000000:c2c:k");

    // Assess
    expect(Buffer.from(forward.body, "base64").equals(BODY)).toBe(true);
    expect(forward).toEqual({
      provider: "tencent",
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      rawQuery: query,
      headers: {
        "content-type": "application/json; charset=utf-8",
        "user-agent": "Tencent-IM",
        "x-provider-trace": "t-1",
      },
      body: BODY.toString("base64"),
      sourceIp: "203.0.113.7",
      messageId: "tencent:1400000000:c2c:k",
      receivedAt: "2026-11-23T12:00:00.000Z",
    });
    expect(JSON.parse(JSON.stringify(forward))).toEqual(forward);
  });

  it("gives the provider's retry of a callback (new signature, same bytes) the same id", () => {
    // Prepare
    const first = request(`${QUERY}&RequestTime=1795000000&Sign=abc`);
    const retry = request(`RequestTime=1795000031&${QUERY}&Sign=def`);

    // Act
    const ids = [first, retry].map((r) => forwardOf(r, "tencent", relay()).id);

    // Assess
    expect(ids[0]).toBe(ids[1]);
  });

  it("gives another body, query or provider another id", () => {
    // Prepare
    const base = forwardId("tencent", QUERY, BODY, []);

    // Act
    const others = [
      forwardId("tencent", QUERY, Buffer.from(`${BODY.toString()} `), []),
      forwardId("tencent", `${QUERY}&x=1`, BODY, []),
      forwardId("netease", QUERY, BODY, []),
    ];

    // Assess
    for (const other of others) expect(other).not.toBe(base);
  });

  it("re-encodes the parsed query when the request did not keep its raw one", () => {
    // Prepare
    const { rawQuery: _, ...withoutRaw } = request(QUERY);

    // Act
    const forward = forwardOf(withoutRaw, "tencent", relay());

    // Assess
    expect(forward.rawQuery).toBe(QUERY);
    expect(forward.sourceIp).toBe("203.0.113.7");
    expect(forward.messageId).toBeUndefined();
  });
});

describe("forwardRequest", () => {
  it("signs afresh at each attempt and adds the forward's own headers; the body is untouched", () => {
    // Prepare
    const forward = forwardOf(request(`${QUERY}&RequestTime=1&Sign=old`), "tencent", relay(), "m-1");

    // Act
    const first = forwardRequest(forward, relay(), new Date("2026-11-23T12:00:00.000Z"));
    const later = forwardRequest(forward, relay(), new Date("2026-11-23T12:00:30.000Z"));

    // Assess
    const params = new URL(first.url).searchParams;
    expect(params.get("RequestTime")).toBe("1795435200");
    expect(params.get("Sign")).toBe(appSign("1795435200"));
    expect(params.get("SdkAppid")).toBe("1400000000");
    expect(new URL(later.url).searchParams.get("RequestTime")).toBe("1795435230");
    expect(first.url.startsWith("https://app.example/callback?")).toBe(true);
    expect(first.body.equals(BODY)).toBe(true);
    expect(first.headers).toEqual({
      "content-type": "application/json; charset=utf-8",
      "user-agent": "Tencent-IM",
      "x-provider-trace": "t-1",
      "x-forwarded-for": "203.0.113.7",
      "x-im-edit-forward-id": forward.id,
      "x-im-edit-message-id": "m-1",
    });
  });

  it("a synchronous forward from the callback itself: the request forwardOf then forwardRequest make", () => {
    // Prepare
    const callback = request(`${QUERY}&RequestTime=1&Sign=old`);
    const now = new Date("2026-11-23T12:00:00.000Z");

    // Act
    const direct = callbackForwardRequest(callback, "tencent", relay(), now, "m-1");

    // Assess: same URL, headers (the forward id too) and bytes; the body is the callback's own buffer.
    expect(direct).toEqual(forwardRequest(forwardOf(callback, "tencent", relay(), "m-1"), relay(), now));
    expect(direct.body).toBe(callback.body);
  });

  it("appends the query after the forward URL's own", () => {
    // Prepare
    const forward = forwardOf(request(QUERY), "tencent", relay());
    const unsigned = relay({ url: "http://127.0.0.1:9/cb?tenant=a#frag", sign: (f) => f });

    // Act
    const { url } = forwardRequest(forward, unsigned, new Date());

    // Assess
    expect(url).toBe(`http://127.0.0.1:9/cb?tenant=a&${QUERY}`);
  });

  it("refuses to sign with an unusable secret: misconfigured, not retryable, no secret said", () => {
    // Prepare
    const forward = forwardOf(request(QUERY), "tencent", relay());
    const unusable = relay({
      sign: () => {
        throw new MisconfiguredError("TENCENT_FORWARD_CALLBACK_TOKEN is unusable");
      },
    });

    // Act
    let thrown: unknown;
    try {
      forwardRequest(forward, unusable, new Date());
    } catch (error: unknown) {
      thrown = error;
    }

    // Assess
    expect(thrown).toBeInstanceOf(ForwardFailure);
    const failure = thrown as ForwardFailure;
    expect(failure.retryable).toBe(false);
    expect(failure.reason.code).toBe("misconfigured");
    expect(failure.message).not.toContain(APP_TOKEN);
  });
});

describe("deliverForward", () => {
  const forward: Forward = forwardOf(request(QUERY), "tencent", relay(), "m-1");
  const now = () => new Date("2026-11-23T12:00:00.000Z");

  it("is delivered on any 2xx, signed at the attempt's time, within the attempt's budget", async () => {
    // Prepare
    const app = forwarder(() => ({ status: 204, body: Buffer.alloc(0) }));
    let budget: number | undefined;
    const timed: Forwarder = {
      send: (req, timeoutMs) => {
        budget = timeoutMs;
        return app.send(req, timeoutMs);
      },
    };

    // Act
    await deliverForward(forward, { relay: relay(), forwarder: timed, timeoutMs: 5000, now });

    // Assess
    expect(budget).toBe(5000);
    expect(new URL(app.sent[0]?.url ?? "").searchParams.get("RequestTime")).toBe("1795435200");
  });

  it.each([408, 425, 429, 500, 502, 503, 504])("retries a %i", async (status) => {
    // Prepare
    const app = forwarder(() => ({ status, body: Buffer.from("busy") }));

    // Act
    const failure = await failureOf(
      deliverForward(forward, { relay: relay(), forwarder: app, timeoutMs: 1 }),
    );

    // Assess
    expect(failure.retryable).toBe(true);
    expect(failure.reason).toEqual({ code: "app_status", message: `the app answered ${status}`, status });
  });

  it.each([301, 302, 307, 400, 401, 403, 404, 410, 422])("dead-letters a %i at once", async (status) => {
    // Prepare
    const app = forwarder(() => ({ status, body: Buffer.alloc(0) }));

    // Act
    const failure = await failureOf(
      deliverForward(forward, { relay: relay(), forwarder: app, timeoutMs: 1 }),
    );

    // Assess
    expect(failure.retryable).toBe(false);
    expect(failure.reason).toMatchObject({ code: "app_status", status });
  });

  it("passes the forwarder's own failures through (timeout, too large, unreachable)", async () => {
    // Prepare
    const timeout = new ForwardFailure(true, { code: "timeout", message: "the app did not answer in time" });
    const app = forwarder(() => Promise.reject(timeout));

    // Act
    const failure = await failureOf(
      deliverForward(forward, { relay: relay(), forwarder: app, timeoutMs: 1 }),
    );

    // Assess
    expect(failure).toBe(timeout);
  });

  it("names, never quotes, an error a forwarder should not throw; retryable", async () => {
    // Prepare
    const app = forwarder(() => Promise.reject(new TypeError(`bad ${APP_TOKEN}`)));

    // Act
    const failure = await failureOf(
      deliverForward(forward, { relay: relay(), forwarder: app, timeoutMs: 1 }),
    );

    // Assess
    expect(failure.retryable).toBe(true);
    expect(failure.reason).toEqual({ code: "unexpected", message: "the forward failed: TypeError" });
  });

  it("dead-letters a forward whose provider has no forward URL any more", async () => {
    // Prepare
    const app = forwarder(() => ({ status: 200, body: Buffer.alloc(0) }));

    // Act
    const failure = await failureOf(
      deliverForward(forward, { relay: undefined, forwarder: app, timeoutMs: 1 }),
    );

    // Assess
    expect(failure.retryable).toBe(false);
    expect(failure.reason.code).toBe("not_configured");
    expect(app.sent).toEqual([]);
  });

  it("classifies statuses: busy or down is retryable, a refusal is not", () => {
    // Act, Assess
    expect([408, 425, 429, 500, 599].map(retryableStatus)).toEqual([true, true, true, true, true]);
    expect([200, 302, 400, 404, 413].map(retryableStatus)).toEqual([false, false, false, false, false]);
  });
});
