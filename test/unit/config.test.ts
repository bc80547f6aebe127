import { describe, expect, it } from "vitest";
import { ConfigError, describeConfig, loadConfig } from "../../functions/config.ts";

const BASE = { TABLE_NAME: "t", TENCENT_SDKAPPID: "1400000000" } as const;
const ARN = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:im-edit/${name}-AbCdEf`;
/** What a Lambda sees (set by the runtime); with it, im-edit is "in AWS". */
const LAMBDA = { AWS_LAMBDA_FUNCTION_NAME: "ImEdit-Recorder" } as const;

const problemsOf = (env: Record<string, string | undefined>): readonly string[] => {
  try {
    loadConfig(env);
  } catch (error: unknown) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
};

describe("loadConfig: local secrets", () => {
  it.each([
    ["TENCENT_CALLBACK_TOKEN", {}],
    ["TENCENT_SECRET_KEY", {}],
    ["NETEASE_APP_SECRET", { NETEASE_APP_KEY: "appkey" }],
  ])("a whitespace-only %s fails at start, naming the variable", (variable, extra) => {
    // Prepare
    const env = { ...BASE, ...extra, [variable]: " \t\n " };

    // Act
    const problems = problemsOf(env);

    // Assess
    expect(problems).toEqual([expect.stringMatching(new RegExp(`^${variable}: .*whitespace`))]);
  });

  it("an empty value is unset, as a shell `FOO= npm start` means (the token: accepted with a warning)", () => {
    const config = loadConfig({
      ...BASE,
      TENCENT_CALLBACK_TOKEN: "",
      TENCENT_SECRET_KEY: "",
      NETEASE_APP_SECRET: "",
    });
    expect(config.tencent?.callbackToken).toBeUndefined();
    expect(config.tencent?.edit).toBeUndefined();
    expect(config.netease).toBeUndefined();
    expect(config.unusableSecrets).toEqual([]);
  });

  it("a real value is used as it is", () => {
    const config = loadConfig({ ...BASE, TENCENT_CALLBACK_TOKEN: "tok", TENCENT_SECRET_KEY: "key" });
    expect(config.tencent?.callbackToken).toBe("tok");
    expect(config.tencent?.edit?.secretKey).toBe("key");
    expect(config.unusableSecrets).toEqual([]);
  });
});

describe("loadConfig: fail closed on secrets from Secrets Manager or in AWS", () => {
  it("a callback token whose secret resolved empty is unusable: never a token-less (unsigned) config", () => {
    // Prepare: withSecrets has replaced the ARN by the secret's (trimmed) value, here empty.
    const env = {
      ...BASE,
      TENCENT_CALLBACK_TOKEN_SECRET_ARN: ARN("token"),
      TENCENT_CALLBACK_TOKEN: "",
    };

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config.tencent?.callbackToken).toBeUndefined();
    expect(config.unusableSecrets).toEqual([
      {
        variable: "TENCENT_CALLBACK_TOKEN",
        provider: "tencent",
        appId: "1400000000",
        refuses: ["callbacks"],
        reason: "blank",
      },
    ]);
  });

  it("the same for a secret whose value never arrived (the ARN set, the value absent)", () => {
    const config = loadConfig({ ...BASE, TENCENT_CALLBACK_TOKEN_SECRET_ARN: ARN("token") });
    expect(config.unusableSecrets).toMatchObject([{ variable: "TENCENT_CALLBACK_TOKEN", reason: "blank" }]);
  });

  it("a blank NetEase AppSecret refuses NetEase callbacks and edits, and leaves Tencent working", () => {
    // Act
    const config = loadConfig({
      ...BASE,
      TENCENT_CALLBACK_TOKEN: "tok",
      NETEASE_APP_KEY: "appkey",
      NETEASE_APP_SECRET_SECRET_ARN: ARN("netease"),
      NETEASE_APP_SECRET: "",
    });

    // Assess: no NetEase config carries an empty secret; Tencent is untouched.
    expect(config.netease).toBeUndefined();
    expect(config.tencent?.callbackToken).toBe("tok");
    expect(config.unusableSecrets).toEqual([
      {
        variable: "NETEASE_APP_SECRET",
        provider: "netease",
        appId: "appkey",
        refuses: ["callbacks", "edits"],
        reason: "blank",
      },
    ]);
  });

  it("a blank Tencent secret key refuses Tencent edits: editing is never configured with an empty key", () => {
    const config = loadConfig({
      ...BASE,
      TENCENT_SECRET_KEY_SECRET_ARN: ARN("key"),
      TENCENT_SECRET_KEY: "",
    });
    expect(config.tencent?.edit).toBeUndefined();
    expect(config.unusableSecrets).toMatchObject([
      { variable: "TENCENT_SECRET_KEY", provider: "tencent", refuses: ["edits"], reason: "blank" },
    ]);
  });

  it("in AWS a whitespace-only plain value is unusable too (no crash at cold start, no unsigned run)", () => {
    const config = loadConfig({ ...BASE, ...LAMBDA, TENCENT_CALLBACK_TOKEN: "   " });
    expect(config.tencent?.callbackToken).toBeUndefined();
    expect(config.unusableSecrets).toMatchObject([{ variable: "TENCENT_CALLBACK_TOKEN", reason: "blank" }]);
  });

  it("in AWS the callback token is mandatory: without one, Tencent callbacks are refused", () => {
    const config = loadConfig({ ...BASE, ...LAMBDA });
    expect(config.unusableSecrets).toMatchObject([
      { variable: "TENCENT_CALLBACK_TOKEN", refuses: ["callbacks"], reason: "missing" },
    ]);
  });

  it("in AWS a NetEase AppKey without its secret refuses NetEase only, instead of failing the whole function", () => {
    const config = loadConfig({ ...BASE, ...LAMBDA, TENCENT_CALLBACK_TOKEN: "tok", NETEASE_APP_KEY: "k" });
    expect(config.tencent?.callbackToken).toBe("tok");
    expect(config.unusableSecrets).toMatchObject([
      { variable: "NETEASE_APP_SECRET", provider: "netease", reason: "missing" },
    ]);
  });

  it("locally a NetEase AppKey without its secret still fails at start", () => {
    expect(problemsOf({ ...BASE, NETEASE_APP_KEY: "k" })).toEqual([
      expect.stringMatching(/^NETEASE_APP_SECRET: required/),
    ]);
  });

  it("describeConfig says which secret is unusable, never a value", () => {
    const config = loadConfig({
      ...BASE,
      TENCENT_CALLBACK_TOKEN_SECRET_ARN: ARN("token"),
      TENCENT_CALLBACK_TOKEN: "",
      TENCENT_SECRET_KEY: "do-not-print",
    });
    const described = JSON.stringify(describeConfig(config));
    expect(described).toContain("TENCENT_CALLBACK_TOKEN");
    expect(described).toMatch(/unusable/i);
    expect(described).not.toContain("do-not-print");
  });
});

describe("loadConfig: the relay (issue 16)", () => {
  const FORWARD = { TENCENT_CALLBACK_FORWARD_URL: "https://app.example/im/callback?key=k" } as const;

  it("defaults: 1200 ms before-send budget, fallback allow, 8 attempts of 5 s, answers up to 64 KiB", () => {
    const config = loadConfig(BASE);
    expect(config).toMatchObject({
      callbackForwardTimeoutMs: 1200,
      callbackForwardFallback: { action: "allow" },
      forwardQueueMaxReceives: 8,
      forwardTimeoutMs: 5000,
      forwardMaxResponseBytes: 65_536,
    });
    expect(config.forwardQueueUrl).toBeUndefined();
    expect(config.providers.get("tencent")?.forwardUrl).toBeUndefined();
    expect(config.tencent?.forward).toBeUndefined();
  });

  it.each([
    ["allow", { action: "allow" }],
    ["block", { action: "block", code: 1 }],
    ["block:120005", { action: "block", code: 120_005 }],
  ])("CALLBACK_FORWARD_FALLBACK=%s", (value, policy) => {
    expect(loadConfig({ ...BASE, CALLBACK_FORWARD_FALLBACK: value }).callbackForwardFallback).toEqual(policy);
  });

  it.each([
    ["CALLBACK_FORWARD_FALLBACK", "deny"],
    ["CALLBACK_FORWARD_FALLBACK", "block:"],
    ["CALLBACK_FORWARD_FALLBACK", "block:-1"],
    ["CALLBACK_FORWARD_FALLBACK", "block:0"],
    ["CALLBACK_FORWARD_TIMEOUT_MS", "1801"],
    ["CALLBACK_FORWARD_TIMEOUT_MS", "0"],
    ["FORWARD_QUEUE_MAX_RECEIVES", "x"],
    ["FORWARD_TIMEOUT_MS", "-5"],
    ["FORWARD_MAX_RESPONSE_BYTES", "1.5"],
    ["FORWARD_QUEUE_URL", "not a url"],
    ["TENCENT_CALLBACK_FORWARD_URL", "ftp://app.example/cb"],
    ["TENCENT_CALLBACK_FORWARD_URL", "app.example/cb"],
  ])("a bad %s (%s) fails at start, naming the variable", (variable, value) => {
    expect(problemsOf({ ...BASE, [variable]: value })).toEqual([
      expect.stringMatching(new RegExp(`^${variable}`)),
    ]);
  });

  it("a forward URL: the provider's relay, signed with the callback token by default", () => {
    const config = loadConfig({ ...BASE, ...FORWARD, TENCENT_CALLBACK_TOKEN: "tok" });
    expect(config.tencent?.forward).toEqual({ url: FORWARD.TENCENT_CALLBACK_FORWARD_URL, token: "tok" });
    expect(config.providers.get("tencent")?.forwardUrl).toBe(FORWARD.TENCENT_CALLBACK_FORWARD_URL);
  });

  it("a forward token of its own signs instead; neither: forwarded unsigned", () => {
    const own = loadConfig({
      ...BASE,
      ...FORWARD,
      TENCENT_CALLBACK_TOKEN: "tok",
      TENCENT_FORWARD_CALLBACK_TOKEN: "app-tok",
    });
    expect(own.tencent?.forward?.token).toBe("app-tok");
    const unsigned = loadConfig({ ...BASE, ...FORWARD });
    expect(unsigned.tencent?.forward).toEqual({ url: FORWARD.TENCENT_CALLBACK_FORWARD_URL });
  });

  it("NetEase: the forward secret defaults to the AppSecret", () => {
    const config = loadConfig({
      ...BASE,
      NETEASE_APP_KEY: "k",
      NETEASE_APP_SECRET: "s",
      NETEASE_CALLBACK_FORWARD_URL: "http://127.0.0.1:9000/copy",
    });
    expect(config.netease?.forward).toEqual({ url: "http://127.0.0.1:9000/copy", appSecret: "s" });
    const own = loadConfig({
      ...BASE,
      NETEASE_APP_KEY: "k",
      NETEASE_APP_SECRET: "s",
      NETEASE_CALLBACK_FORWARD_URL: "http://127.0.0.1:9000/copy",
      NETEASE_FORWARD_APP_SECRET: "app-s",
    });
    expect(own.netease?.forward?.appSecret).toBe("app-s");
  });

  it("a forward secret that resolved empty refuses forwards only (fail closed): callbacks still work", () => {
    // Prepare: the forward token's secret read empty; the callback token is fine.
    const env = {
      ...BASE,
      ...FORWARD,
      TENCENT_CALLBACK_TOKEN: "tok",
      TENCENT_FORWARD_CALLBACK_TOKEN_SECRET_ARN: ARN("forward"),
      TENCENT_FORWARD_CALLBACK_TOKEN: "",
    };

    // Act
    const config = loadConfig(env);

    // Assess: never the callback token instead, never an empty key; callbacks untouched.
    expect(config.tencent?.callbackToken).toBe("tok");
    expect(config.tencent?.forward).toEqual({
      url: FORWARD.TENCENT_CALLBACK_FORWARD_URL,
      unusable: "TENCENT_FORWARD_CALLBACK_TOKEN",
    });
    expect(config.unusableSecrets).toEqual([
      {
        variable: "TENCENT_FORWARD_CALLBACK_TOKEN",
        provider: "tencent",
        appId: "1400000000",
        refuses: ["forwards"],
        reason: "blank",
      },
    ]);
    expect(JSON.stringify(describeConfig(config))).toMatch(
      /TENCENT_FORWARD_CALLBACK_TOKEN UNUSABLE.*forwards refused/,
    );
  });

  it("a forward secret without a forward URL matters not at all", () => {
    const config = loadConfig({
      ...BASE,
      TENCENT_FORWARD_CALLBACK_TOKEN_SECRET_ARN: ARN("forward"),
      TENCENT_FORWARD_CALLBACK_TOKEN: "",
    });
    expect(config.unusableSecrets).toEqual([]);
  });

  it("a NetEase forward secret that resolved empty refuses NetEase forwards only", () => {
    const config = loadConfig({
      ...BASE,
      NETEASE_APP_KEY: "k",
      NETEASE_APP_SECRET: "s",
      NETEASE_CALLBACK_FORWARD_URL: "https://app.example/copy",
      NETEASE_FORWARD_APP_SECRET_SECRET_ARN: ARN("nf"),
      NETEASE_FORWARD_APP_SECRET: "",
    });
    expect(config.netease?.appSecret).toBe("s");
    expect(config.netease?.forward).toEqual({
      url: "https://app.example/copy",
      unusable: "NETEASE_FORWARD_APP_SECRET",
    });
    expect(config.unusableSecrets).toMatchObject([
      { variable: "NETEASE_FORWARD_APP_SECRET", provider: "netease", refuses: ["forwards"] },
    ]);
  });

  it("locally a whitespace-only forward secret fails at start", () => {
    expect(problemsOf({ ...BASE, ...FORWARD, TENCENT_FORWARD_CALLBACK_TOKEN: "  " })).toEqual([
      expect.stringMatching(/^TENCENT_FORWARD_CALLBACK_TOKEN: .*whitespace/),
    ]);
  });

  it("in AWS a forward URL must be https, and needs the forward queue", () => {
    const aws = { ...BASE, ...LAMBDA, TENCENT_CALLBACK_TOKEN: "tok" };
    expect(problemsOf({ ...aws, TENCENT_CALLBACK_FORWARD_URL: "http://app.example/cb" })).toEqual([
      "TENCENT_CALLBACK_FORWARD_URL: must be an https URL in AWS",
      "FORWARD_QUEUE_URL: required in AWS when TENCENT_CALLBACK_FORWARD_URL is set",
    ]);
    const config = loadConfig({
      ...aws,
      ...FORWARD,
      FORWARD_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/forwards",
    });
    expect(config.tencent?.forward?.url).toBe(FORWARD.TENCENT_CALLBACK_FORWARD_URL);
    // Locally http is fine (the loopback test handler, a tunnel).
    expect(
      loadConfig({ ...BASE, TENCENT_CALLBACK_FORWARD_URL: "http://app.example/cb" }).tencent?.forward,
    ).toBeDefined();
  });

  it("a forward URL naming im-edit's own callback route on its own port is a loop, refused at start", () => {
    const loop = { ...BASE, PORT: "3000" };
    for (const url of [
      "http://127.0.0.1:3000/callbacks/tencent",
      "http://localhost:3000/callbacks/tencent/",
      "http://[::1]:3000/callbacks/tencent?x=1",
    ]) {
      expect(problemsOf({ ...loop, TENCENT_CALLBACK_FORWARD_URL: url })).toEqual([
        "TENCENT_CALLBACK_FORWARD_URL: points at im-edit's own callback route (a forward loop)",
      ]);
    }
    // Another port, another path, or the port unknown: not im-edit's route, as far as it can tell.
    for (const env of [
      { ...loop, TENCENT_CALLBACK_FORWARD_URL: "http://127.0.0.1:3001/callbacks/tencent" },
      { ...loop, TENCENT_CALLBACK_FORWARD_URL: "http://127.0.0.1:3000/app/callback" },
      { ...BASE, TENCENT_CALLBACK_FORWARD_URL: "http://127.0.0.1:3000/callbacks/tencent" },
    ]) {
      expect(loadConfig(env).tencent?.forward).toBeDefined();
    }
  });

  it("describeConfig shows the targets by origin only and the secrets as set or unset, never a value", () => {
    const config = loadConfig({
      ...BASE,
      TENCENT_CALLBACK_TOKEN: "tok-do-not-print",
      TENCENT_CALLBACK_FORWARD_URL: "https://user:pw-do-not-print@app.example/cb?key=q-do-not-print",
      TENCENT_FORWARD_CALLBACK_TOKEN: "fwd-do-not-print",
      CALLBACK_FORWARD_FALLBACK: "block:120001",
    });
    const described = describeConfig(config);
    expect(described.relay).toEqual({
      targets: { tencent: "https://app.example" },
      beforeSend: { timeoutMs: 1200, fallback: "block:120001" },
      queue: "memory",
      deadLetters: "none",
      attempts: 8,
      attemptTimeoutMs: 5000,
      maxResponseBytes: 65_536,
    });
    expect(described.tencent).toMatchObject({
      forward: { target: "https://app.example", token: "set (TENCENT_FORWARD_CALLBACK_TOKEN)" },
    });
    expect(JSON.stringify(described)).not.toContain("do-not-print");
    const unsigned = describeConfig(
      loadConfig({ ...BASE, TENCENT_CALLBACK_FORWARD_URL: "https://a.example/" }),
    );
    expect(unsigned.tencent).toMatchObject({ forward: { token: expect.stringMatching(/^unset/) } });
    expect(describeConfig(loadConfig(BASE))).not.toHaveProperty("relay");
  });
});

describe("loadConfig: LISTINGS", () => {
  it.each([
    [undefined, ["conversation", "app"]],
    ["", ["conversation", "app"]],
    ["conversation,app", ["conversation", "app"]],
    ["app, conversation", ["conversation", "app"]],
    ["conversation", ["conversation"]],
    ["app", ["app"]],
    ["none", []],
  ])("%j keeps %j (default: every listing)", (value, kept) => {
    // Act
    const config = loadConfig({ ...BASE, LISTINGS: value });

    // Assess
    expect(["conversation", "app"].filter((name) => config.listings.has(name as "app"))).toEqual(kept);
    expect(describeConfig(config).listings).toBe(kept.length === 0 ? "none" : kept.join(","));
  });

  it.each(["sender", "none,app", "conversation,", "Conversation"])(
    "%j fails at start, naming LISTINGS and what it takes",
    (value) => {
      expect(problemsOf({ ...BASE, LISTINGS: value })).toEqual([
        "LISTINGS: must be a comma list of conversation and app, or none",
      ]);
    },
  );
});
