import { randomUUID } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createDocumentClient } from "../../../functions/adapters/dynamodb/client.ts";
import { DynamoStore } from "../../../functions/adapters/dynamodb/store.ts";
import { handler as editor } from "../../../functions/editor.ts";
import { logger } from "../../../functions/logger.ts";
import { neteaseId } from "../../../functions/providers/netease/identity.ts";
import { c2cId } from "../../../functions/providers/tencent/identity.ts";
import { handler as recorder } from "../../../functions/recorder.ts";
import { setDependencies } from "../../../functions/wiring/cold-start.ts";
import { ensureTable, type LocalDynamo, startDynalite } from "../../../local/dynamo.ts";
import { type LambdaHandler, type RunningServer, startLocalServer } from "../../../local/server.ts";
import { fixture } from "../../helpers/fixtures.ts";
import { APP_KEY, APP_SECRET, copyHeaders } from "../../helpers/netease.ts";
import { API_TOKEN, CALLBACK_TOKEN, postTencent, type Reply } from "../../helpers/stack.ts";
import { APP_ID } from "../../helpers/tencent.ts";

/**
 * Fail closed, end to end: the real recorder and editor handlers, reading their secrets by ARN the way
 * they do in AWS (Secrets Manager mocked at the SDK), each cold start from the environment, behind the
 * local API Gateway stand-in, on dynalite.
 */
const TABLE = "im-edit-fail-closed";
const ARN = {
  token: "arn:aws:secretsmanager:local:123456789012:secret:im-edit/tencent-callback-token-AbCdEf",
  key: "arn:aws:secretsmanager:local:123456789012:secret:im-edit/tencent-secret-key-AbCdEf",
  netease: "arn:aws:secretsmanager:local:123456789012:secret:im-edit/netease-app-secret-AbCdEf",
};
const TENCENT_OK = { ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 };

describe("fail closed: a configured secret that resolves empty (real handlers over HTTP)", () => {
  const savedEnv = { ...process.env };
  const secretsManager = mockClient(SecretsManagerClient);
  let dynamo: LocalDynamo;
  let server: RunningServer;
  let store: DynamoStore;
  let dataDir: string;
  let providerCalls = 0;
  let provider: Server;
  let providerUrl: string;

  /** A new cold start of the functions, with these secrets behind the ARNs and these variables. */
  function coldStart(secrets: Partial<Record<keyof typeof ARN, string>>, env: Record<string, string>): void {
    setDependencies(undefined);
    for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
    Object.assign(process.env, savedEnv, {
      AWS_LAMBDA_FUNCTION_NAME: "ImEdit-Test",
      TABLE_NAME: TABLE,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      TENCENT_SDKAPPID: APP_ID,
      DATA_DIR: dataDir,
      ...env,
    });
    secretsManager.reset();
    for (const [name, value] of Object.entries(secrets)) {
      secretsManager.on(GetSecretValueCommand, { SecretId: ARN[name as keyof typeof ARN] }).resolves({
        SecretString: value,
      });
    }
  }

  const c2c = () => {
    const msgKey = `1_2_${randomUUID()}`;
    const body: Record<string, unknown> = { ...fixture("tencent", "c2c-after-send"), MsgKey: msgKey };
    return { body, id: c2cId(APP_ID, String(body.From_Account), String(body.To_Account), msgKey) };
  };

  async function postNetease(secret = APP_SECRET): Promise<{ reply: Reply; id: string }> {
    const msgidServer = String(Date.now()) + String(Math.floor(Math.random() * 1e6));
    const bytes = Buffer.from(JSON.stringify({ ...fixture("netease", "copy-p2p-text"), msgidServer }));
    const response = await request(`${server.url}/callbacks/netease`, {
      method: "POST",
      headers: { "content-type": "application/json", ...copyHeaders(bytes, Date.now(), secret) },
      body: bytes,
    });
    const text = await response.body.text();
    return {
      reply: { status: response.statusCode, headers: response.headers, body: JSON.parse(text || "null") },
      id: neteaseId(APP_KEY, msgidServer),
    };
  }

  beforeAll(async () => {
    dynamo = await startDynalite();
    await ensureTable(dynamo.endpoint, TABLE);
    store = new DynamoStore(createDocumentClient({ region: "local", endpoint: dynamo.endpoint }), TABLE);
    dataDir = await mkdtemp(join(tmpdir(), "im-edit-fail-closed-"));
    server = await startLocalServer({
      host: "127.0.0.1",
      port: 0,
      apiToken: API_TOKEN,
      handlers: { recorder: recorder as LambdaHandler, editor: editor as LambdaHandler },
      maxBodyBytes: 64 * 1024,
    });
    // Stands in for Tencent's REST API: an edit must never reach it unsigned or signed with an empty key.
    provider = createServer((req, res) => {
      providerCalls++;
      req.resume();
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(TENCENT_OK));
    });
    await new Promise<void>((resolve) => provider.listen(0, "127.0.0.1", () => resolve()));
    providerUrl = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    setDependencies(undefined);
    for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
    Object.assign(process.env, savedEnv);
    secretsManager.restore();
    await server?.close();
    await new Promise<void>((resolve) => provider?.close(() => resolve()));
    await dynamo?.close();
  });

  it("an empty callback-token secret: Tencent callbacks get 503 misconfigured, nothing is stored, an error is logged", async () => {
    // Prepare
    coldStart(
      { token: " \n", netease: APP_SECRET },
      {
        TENCENT_CALLBACK_TOKEN_SECRET_ARN: ARN.token,
        NETEASE_APP_KEY: APP_KEY,
        NETEASE_APP_SECRET_SECRET_ARN: ARN.netease,
      },
    );
    const error = vi.spyOn(logger, "error");
    const signed = c2c();
    const unsigned = c2c();

    // Act
    const signedReply = await postTencent(server.url, signed.body);
    const unsignedReply = await postTencent(server.url, unsigned.body, {
      query: { Sign: "", RequestTime: "" },
    });
    const copy = await postNetease();

    // Assess: refused whatever the signature, stored nothing, said why in an alarm-visible log line.
    for (const reply of [signedReply, unsignedReply]) {
      expect(reply.status).toBe(503);
      expect(reply.body).toEqual({ error: { code: "misconfigured", message: expect.any(String) } });
      expect(JSON.stringify(reply.body)).not.toContain("TENCENT_CALLBACK_TOKEN");
    }
    expect(await store.getHead(signed.id)).toBeUndefined();
    expect(await store.getHead(unsigned.id)).toBeUndefined();
    expect(error).toHaveBeenCalledWith(
      expect.stringMatching(/refused/),
      expect.objectContaining({ variable: "TENCENT_CALLBACK_TOKEN", provider: "tencent" }),
    );
    // The other provider's callbacks are still taken.
    expect(copy.reply).toMatchObject({ status: 200, body: { code: 200 } });
    expect(await store.getHead(copy.id)).toMatchObject({ provider: "netease", version: 1 });
  });

  it("a proper token secret (a trailing newline trimmed): signed callbacks are recorded, unsigned ones get 401", async () => {
    // Prepare
    coldStart({ token: `${CALLBACK_TOKEN}\n` }, { TENCENT_CALLBACK_TOKEN_SECRET_ARN: ARN.token });
    const signed = c2c();
    const forged = c2c();

    // Act
    const signedReply = await postTencent(server.url, signed.body);
    const forgedReply = await postTencent(server.url, forged.body, { query: { Sign: "0".repeat(64) } });

    // Assess
    expect(signedReply).toMatchObject({ status: 200, body: TENCENT_OK });
    expect(await store.getHead(signed.id)).toMatchObject({ state: "sent", version: 1 });
    expect(forgedReply.status).toBe(401);
    expect(await store.getHead(forged.id)).toBeUndefined();
  });

  it("an empty NetEase AppSecret: copies get 503, even one signed with the empty secret; Tencent still recorded", async () => {
    // Prepare
    coldStart(
      { token: CALLBACK_TOKEN, netease: "" },
      {
        TENCENT_CALLBACK_TOKEN_SECRET_ARN: ARN.token,
        NETEASE_APP_KEY: APP_KEY,
        NETEASE_APP_SECRET_SECRET_ARN: ARN.netease,
      },
    );
    const tencent = c2c();

    // Act
    const forged = await postNetease("");
    const tencentReply = await postTencent(server.url, tencent.body);

    // Assess
    expect(forged.reply).toMatchObject({ status: 503, body: { error: { code: "misconfigured" } } });
    expect(await store.getHead(forged.id)).toBeUndefined();
    expect(tencentReply.status).toBe(200);
    expect(await store.getHead(tencent.id)).toMatchObject({ state: "sent" });
  });

  it("an empty Tencent secret key: the editor answers 503 misconfigured and never calls Tencent", async () => {
    // Prepare: a recorded message (the recorder, properly configured), then the editor's cold start.
    coldStart({ token: CALLBACK_TOKEN }, { TENCENT_CALLBACK_TOKEN_SECRET_ARN: ARN.token });
    const message = c2c();
    expect((await postTencent(server.url, message.body)).status).toBe(200);
    coldStart({ key: "\t" }, { TENCENT_SECRET_KEY_SECRET_ARN: ARN.key, TENCENT_API_BASE_URL: providerUrl });
    providerCalls = 0;

    // Act
    const response = await request(`${server.url}/v1/messages/${message.id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ text: "edited" }),
    });
    const body = (await response.body.json()) as unknown;
    const read = await request(`${server.url}/v1/messages/${message.id}`, {
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });

    // Assess: refused, nothing sent, nothing changed; reading still works.
    expect(response.statusCode).toBe(503);
    expect(body).toEqual({ error: { code: "misconfigured", message: expect.any(String) } });
    expect(providerCalls).toBe(0);
    expect(read.statusCode).toBe(200);
    expect(await read.body.json()).toMatchObject({ version: 1 });
  });
});
