import { createHash } from "node:crypto";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDependencies } from "../../functions/clients.ts";
import { loadConfig } from "../../functions/config.ts";
import type { CallbackRequest } from "../../functions/core/provider.ts";
import { logger } from "../../functions/logger.ts";
import { metrics } from "../../functions/metrics.ts";
import * as editing from "../../functions/providers/editing.ts";
import { dependencies, setDependencies } from "../../functions/wiring/cold-start.ts";
import { rendered } from "../helpers/errors.ts";
import { c2cHead } from "../helpers/heads.ts";
import { callbackRequest } from "../helpers/tencent.ts";

const BASE = { TABLE_NAME: "t", AWS_REGION: "local", TENCENT_SDKAPPID: "1400000000" } as const;
const MISCONFIGURED = { status: 503, code: "misconfigured" };

const thrown = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error: unknown) {
    return error;
  }
  return undefined;
};

/** A NetEase copy signed with an empty AppSecret: what an attacker can forge when the secret is blank. */
function copySignedWithEmptySecret(appKey: string): CallbackRequest {
  const body = Buffer.from('{"eventType":"1"}');
  const md5 = createHash("md5").update(body).digest("hex");
  const curtime = String(Date.now());
  const checksum = createHash("sha1").update(`${md5}${curtime}`).digest("hex");
  return { query: {}, headers: { appkey: appKey, md5, curtime, checksum }, body, receivedAt: new Date() };
}

describe("createDependencies: a provider whose secret is unusable is refused, never run unsigned", () => {
  it("Tencent callbacks answer 503 misconfigured when the callback-token secret resolved empty", () => {
    // Prepare
    const config = loadConfig({
      ...BASE,
      TENCENT_CALLBACK_TOKEN_SECRET_ARN: "arn:t",
      TENCENT_CALLBACK_TOKEN: "",
    });
    const tencent = createDependencies(config).providers.get("tencent");
    const unsigned = callbackRequest({ CallbackCommand: "C2C.CallbackAfterSendMsg" });

    // Act
    const verified = thrown(() => tencent?.verify(unsigned));
    const interpreted = thrown(() => tencent?.interpret(unsigned));

    // Assess
    expect(rendered(verified)).toMatchObject(MISCONFIGURED);
    expect(rendered(interpreted)).toMatchObject(MISCONFIGURED);
    // The caller learns that the service is misconfigured, not which variable (the log names it).
    expect(String((verified as Error).message)).not.toContain("TENCENT_CALLBACK_TOKEN");
  });

  it("NetEase copies, lookups and edits answer 503 when the AppSecret resolved empty; Tencent is unaffected", () => {
    // Prepare
    const config = loadConfig({
      ...BASE,
      TENCENT_CALLBACK_TOKEN: "tok",
      TENCENT_SECRET_KEY: "key",
      NETEASE_APP_KEY: "appkey",
      NETEASE_APP_SECRET_SECRET_ARN: "arn:n",
      NETEASE_APP_SECRET: "",
    });
    const deps = createDependencies(config, {}, editing);
    const netease = deps.providers.get("netease");

    // Act / Assess
    expect(netease?.appId).toBe("appkey");
    expect(rendered(thrown(() => netease?.verify(copySignedWithEmptySecret("appkey"))))).toMatchObject(
      MISCONFIGURED,
    );
    expect(rendered(thrown(() => netease?.lookup("appkey", { msgId: "1" })))).toMatchObject(MISCONFIGURED);
    expect(rendered(thrown(() => deps.editors.get("netease")?.parseChange({ text: "x" })))).toMatchObject(
      MISCONFIGURED,
    );
    expect(rendered(thrown(() => deps.providers.get("tencent")?.verify(callbackRequest({}))))).toMatchObject({
      status: 401,
    });
    expect(deps.editors.get("tencent")?.parseChange({ text: "x" })).toBeDefined();
  });

  it("Tencent edits answer 503 misconfigured (not the provider's 502) when the secret key resolved empty", async () => {
    // Prepare
    const config = loadConfig({
      ...BASE,
      TENCENT_CALLBACK_TOKEN: "tok",
      TENCENT_SECRET_KEY_SECRET_ARN: "arn:k",
      TENCENT_SECRET_KEY: "",
    });
    const editor = createDependencies(config, {}, editing).editors.get("tencent");
    const head = c2cHead({ MsgBody: [] });

    // Act / Assess: refused before any lease, intent or provider call; never signs with an empty key.
    expect(rendered(thrown(() => editor?.parseChange({ text: "x" })))).toMatchObject(MISCONFIGURED);
    expect(rendered(thrown(() => editor?.checkEditable(head, new Date())))).toMatchObject(MISCONFIGURED);
    expect(
      rendered(await editor?.modify(head, {}, Date.now() + 1000).catch((e: unknown) => e)),
    ).toMatchObject(MISCONFIGURED);
    expect(editor?.notRestorable({})).toMatch(/refused/);
  });
});

describe("dependencies(): cold-start reports by function", () => {
  const saved = { ...process.env };
  const secretsManager = mockClient(SecretsManagerClient);
  let warn: ReturnType<typeof vi.spyOn>;
  let error: ReturnType<typeof vi.spyOn>;
  let addMetric: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    setDependencies(undefined);
    warn = vi.spyOn(logger, "warn").mockImplementation(() => {});
    error = vi.spyOn(logger, "error").mockImplementation(() => {});
    addMetric = vi.spyOn(metrics, "addMetric");
  });
  afterEach(() => {
    vi.restoreAllMocks();
    secretsManager.reset();
    setDependencies(undefined);
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  });

  it("the editor does not warn about an unsigned recorder; the recorder warns once per cold start", async () => {
    // Prepare: no callback token (local).
    Object.assign(process.env, BASE);
    delete process.env.TENCENT_CALLBACK_TOKEN;

    // Act
    await dependencies(editing);
    const editorWarnings = warn.mock.calls.length;
    setDependencies(undefined);
    await dependencies();
    await dependencies();

    // Assess
    expect(editorWarnings).toBe(0);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/TENCENT_CALLBACK_TOKEN.*unsigned/);
  });

  it("the recorder logs an error and counts Misconfigured once at cold start for a blank token secret", async () => {
    // Prepare
    Object.assign(process.env, BASE, { TENCENT_CALLBACK_TOKEN_SECRET_ARN: "arn:t" });
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: " \n" });

    // Act
    await dependencies();
    await dependencies();

    // Assess
    expect(error).toHaveBeenCalledTimes(1);
    expect(error.mock.calls[0]?.[1]).toMatchObject({
      variable: "TENCENT_CALLBACK_TOKEN",
      provider: "tencent",
    });
    expect(addMetric).toHaveBeenCalledWith("Misconfigured", expect.anything(), 1);
    expect(warn).not.toHaveBeenCalled();
  });

  it("the editor does not report the recorder's callback token; it reports its own secret key", async () => {
    // Prepare: in AWS the editor has no callback token (only the recorder reads it).
    Object.assign(process.env, BASE, {
      AWS_LAMBDA_FUNCTION_NAME: "ImEdit-Editor",
      TENCENT_SECRET_KEY_SECRET_ARN: "arn:k",
    });
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: "" });

    // Act
    await dependencies(editing);

    // Assess
    expect(warn).not.toHaveBeenCalled();
    expect(error).toHaveBeenCalledTimes(1);
    expect(error.mock.calls[0]?.[1]).toMatchObject({ variable: "TENCENT_SECRET_KEY", refuses: ["edits"] });
  });

  it("while a secret is unusable, warm instances read it again every minute: a fixed secret needs no redeploy", async () => {
    // Prepare
    Object.assign(process.env, BASE, { TENCENT_CALLBACK_TOKEN_SECRET_ARN: "arn:t" });
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: "" });
    const start = Date.now();
    const now = vi.spyOn(Date, "now").mockReturnValue(start);
    const refused = await dependencies();
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: "fixed" });

    // Act
    now.mockReturnValue(start + 30_000);
    const soon = await dependencies();
    now.mockReturnValue(start + 61_000);
    const later = await dependencies();

    // Assess
    expect(refused.config.unusableSecrets).toHaveLength(1);
    expect(soon).toBe(refused);
    expect(later.config.tencent?.callbackToken).toBe("fixed");
    expect(later.config.unusableSecrets).toEqual([]);
  });

  it("the recorder reports an unusable forward secret at cold start: forwards refused, callbacks answered", async () => {
    // Prepare
    Object.assign(process.env, BASE, {
      TENCENT_CALLBACK_TOKEN: "tok",
      TENCENT_CALLBACK_FORWARD_URL: "https://app.example/im",
      TENCENT_FORWARD_CALLBACK_TOKEN_SECRET_ARN: "arn:f",
    });
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: "" });

    // Act
    const deps = await dependencies();
    await deps.relay.queue?.close?.();

    // Assess
    expect(error).toHaveBeenCalledTimes(1);
    expect(String(error.mock.calls[0]?.[0])).toMatch(/^tencent forwards will be refused: TENCENT_FORWARD/);
    expect(String(error.mock.calls[0]?.[0])).not.toContain("503");
    expect(addMetric).toHaveBeenCalledWith("Misconfigured", expect.anything(), 1);
  });

  it("a configuration that cannot load answers 503 misconfigured (typed), logged and counted, and is retried", async () => {
    // Prepare
    Object.assign(process.env, BASE, { TENCENT_CALLBACK_TOKEN_SECRET_ARN: "arn:t" });
    secretsManager
      .on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error("denied"), { name: "AccessDeniedException" }))
      .resolves({ SecretString: "tok" });

    // Act
    const failure = await dependencies().catch((e: unknown) => e);
    const retried = await dependencies();

    // Assess
    expect(rendered(failure)).toMatchObject(MISCONFIGURED);
    expect(JSON.stringify(error.mock.calls)).toContain("TENCENT_CALLBACK_TOKEN_SECRET_ARN");
    expect(addMetric).toHaveBeenCalledWith("Misconfigured", expect.anything(), 1);
    expect(retried.config.tencent?.callbackToken).toBe("tok");
  });
});

describe("createDependencies: the relay (issue 16)", () => {
  const FORWARD = { TENCENT_CALLBACK_FORWARD_URL: "https://app.example/im" } as const;
  let error: ReturnType<typeof vi.spyOn>;
  let addMetric: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    error = vi.spyOn(logger, "error").mockImplementation(() => {});
    vi.spyOn(logger, "warn").mockImplementation(() => {});
    addMetric = vi.spyOn(metrics, "addMetric");
  });
  afterEach(() => vi.restoreAllMocks());

  it("without a forward URL: the rules alone decide, nothing is queued, the forward dead letters still named", () => {
    const deps = createDependencies(loadConfig(BASE));
    expect(deps.hooks.map((hook) => hook.name)).toEqual(["rules"]);
    expect(deps.relay.queue).toBeUndefined();
    expect(deps.relay.forwarder).toBeDefined();
    expect(deps.deadLetters.forward).toMatchObject({ maxReceives: 8, source: "forward-queue" });
  });

  it("with one: the app's hook first, then the rules; a forward queue (in memory here), closed on shutdown", async () => {
    const deps = createDependencies(loadConfig({ ...BASE, ...FORWARD, FORWARD_QUEUE_MAX_RECEIVES: "3" }));
    expect(deps.hooks.map((hook) => hook.name)).toEqual(["app", "rules"]);
    expect(deps.hooks[0]).toMatchObject({ source: "app", budgetMs: 1200 + 50 });
    expect(deps.providers.get("tencent")?.relay?.url).toBe(FORWARD.TENCENT_CALLBACK_FORWARD_URL);
    expect(deps.deadLetters.forward.maxReceives).toBe(3);
    expect(deps.relay.queue).toBeDefined();
    await deps.relay.queue?.close?.();
  });

  it("in AWS the forward queue's retries come back through FORWARD_QUEUE_URL's visibility", () => {
    const deps = createDependencies(
      loadConfig({
        ...BASE,
        ...FORWARD,
        TENCENT_CALLBACK_TOKEN: "tok",
        AWS_LAMBDA_FUNCTION_NAME: "ImEdit-Forwarder",
        FORWARD_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/forwards",
        FORWARD_DLQ_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/forwards-dlq",
      }),
    );
    expect(deps.deadLetters.forward.retryAfter).toBeTypeOf("function");
    expect(deps.deadLetters.forward.letters).toBeDefined();
  });

  it("an unusable forward token: a before-send gets the fallback, logged at error and counted Misconfigured; deliveries are refused for good", async () => {
    // Prepare
    const config = loadConfig({
      ...BASE,
      ...FORWARD,
      TENCENT_CALLBACK_TOKEN: "tok",
      TENCENT_FORWARD_CALLBACK_TOKEN_SECRET_ARN: "arn:f",
      TENCENT_FORWARD_CALLBACK_TOKEN: "",
      CALLBACK_FORWARD_FALLBACK: "block:120001",
    });
    const deps = createDependencies(config);
    const tencent = deps.providers.get("tencent");
    const before = callbackRequest({ CallbackCommand: "C2C.CallbackBeforeSendMsg" });

    // Act
    const decision = await deps.hooks[0]?.decide({
      provider: "tencent",
      appId: "1400000000",
      message: { id: "c2c_x", kind: "c2c" } as never,
      original: {},
      content: {},
      request: before,
      signal: new AbortController().signal,
    });
    const delivered = await deps.relay
      .deliver({
        provider: "tencent",
        id: "0".repeat(32),
        rawQuery: "SdkAppid=1400000000",
        headers: {},
        body: "e30=",
        receivedAt: new Date().toISOString(),
      })
      .catch((e: unknown) => e);

    // Assess: callbacks still verified as usual; the forward refused, never signed with an empty key.
    expect(() => tencent?.verify(callbackRequest({}, { Sign: "x", RequestTime: "1" }))).toThrow(
      /window|signature/,
    );
    expect(decision).toMatchObject({ action: "block", code: 120_001 });
    expect(error).toHaveBeenCalledWith(
      expect.stringMatching(/forward secret is unusable/),
      expect.objectContaining({ provider: "tencent", reason: "misconfigured" }),
    );
    expect(addMetric).toHaveBeenCalledWith("Misconfigured", expect.anything(), 1);
    expect(addMetric).toHaveBeenCalledWith("ForwardFallback", expect.anything(), 1);
    expect(delivered).toMatchObject({
      name: "ForwardFailure",
      retryable: false,
      reason: { code: "misconfigured" },
    });
    await deps.relay.queue?.close?.();
  });
});
