import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { md5Hex, verifyNeteaseCopy } from "../../../functions/providers/netease/verify.ts";
import type { LocalStack } from "../../../local/stack.ts";
import { fixture } from "../../helpers/fixtures.ts";
import { APP_TOKEN, type AppReceived, appSign, forwardApp } from "../../helpers/forward-app.ts";
import { APP_KEY, APP_SECRET, copyHeaders } from "../../helpers/netease.ts";
import { api, postTencent, startTestStack } from "../../helpers/stack.ts";

const TEXT = (text: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: text } }];
const OK = { ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 };
/** The app's own Yunxin secret: not im-edit's (forwards are signed with the app's). */
const APP_NETEASE_SECRET = "the-apps-own-appsecret";
const TIMEOUT_MS = 300;
const FALLBACK_CODE = 120_009;

type Answer = (n: number, got: AppReceived, res: ServerResponse) => void;
function json(body: unknown, status = 200): Answer {
  return (_n, _got, res) => {
    res
      .writeHead(status, { "content-type": "application/json" })
      .end(typeof body === "string" ? body : JSON.stringify(body));
  };
}
/** Answers after a second: past the before-send budget. */
const slowly: Answer = (n, got, res) => {
  setTimeout(() => json(OK)(n, got, res), 1_000);
};
/** Drops the connection: the app is down. */
const hangUp: Answer = (_n, _got, res) => {
  res.socket?.destroy();
};

/** A unique C2C message: its before-send and after-send bodies. */
function c2c(text: string) {
  const MsgKey = `1_2_${randomUUID()}`;
  return {
    before: { ...fixture("tencent", "c2c-before-send"), MsgKey, MsgBody: TEXT(text) },
    after: { ...fixture("tencent", "c2c-after-send"), MsgKey, MsgBody: TEXT(text) },
  };
}

describe("the callback relay through the local server (a loopback app handler)", () => {
  let stack: LocalStack;
  let app: Awaited<ReturnType<typeof forwardApp>>;
  const answers: Answer[] = [];
  /** What the app got for one message (by its MsgKey or msgidServer in the body). */
  const receivedFor = (marker: string) => app.received.filter((got) => got.body.toString().includes(marker));

  beforeAll(async () => {
    // Each request is answered by the test's current script (the default: Tencent's OK).
    app = await forwardApp((n, got, res) => (answers.at(-1) ?? json(OK))(n, got, res));
    stack = await startTestStack({
      env: {
        TENCENT_CALLBACK_FORWARD_URL: app.url,
        TENCENT_FORWARD_CALLBACK_TOKEN: APP_TOKEN,
        NETEASE_APP_KEY: APP_KEY,
        NETEASE_APP_SECRET: APP_SECRET,
        NETEASE_CALLBACK_FORWARD_URL: app.url.replace("/app/callback", "/app/copy"),
        NETEASE_FORWARD_APP_SECRET: APP_NETEASE_SECRET,
        CALLBACK_FORWARD_TIMEOUT_MS: String(TIMEOUT_MS),
        CALLBACK_FORWARD_FALLBACK: `block:${FALLBACK_CODE}`,
      },
    });
  }, 30_000);
  afterAll(async () => {
    await stack?.close();
    await app?.close();
  });
  const script = (answer: Answer) => answers.push(answer);

  describe("before-send: answered with the app's decision", () => {
    it("allow: forwarded with the body bytes as sent, the query re-signed for the app; Tencent gets ErrorCode 0", async () => {
      // Prepare
      script(json(OK));
      const message = c2c("hello app");
      const raw = Buffer.from(JSON.stringify(message.before, null, 1)); // bytes the app must get unchanged

      // Act
      const reply = await postTencent(stack.url, message.before, { raw, query: { Extra: "a b+c" } });

      // Assess
      expect(reply).toMatchObject({ status: 200, body: OK });
      const [got] = receivedFor(message.before.MsgKey);
      expect(got?.body.equals(raw)).toBe(true);
      const requestTime = got?.query.get("RequestTime") ?? "";
      expect(got?.query.get("Sign")).toBe(appSign(requestTime));
      expect(got?.query.get("Extra")).toBe("a b+c");
      expect(got?.query.get("CallbackCommand")).toBe("C2C.CallbackBeforeSendMsg");
      expect(got?.headers).toMatchObject({
        "content-type": "application/json",
        "x-forwarded-for": "127.0.0.1",
        "x-im-edit-message-id": expect.stringMatching(/^c2c_/),
      });
    });

    it("block: the app's code and words go to Tencent; the message is recorded as refused", async () => {
      script(json({ ActionStatus: "OK", ErrorCode: 120_005, ErrorInfo: "not allowed here" }));
      const reply = await postTencent(stack.url, c2c("buy now").before);
      expect(reply.body).toEqual({ ActionStatus: "OK", ErrorCode: 120_005, ErrorInfo: "not allowed here" });
    });

    it("rewrite: Tencent delivers the app's MsgBody; history keeps what the sender typed, then the app's version", async () => {
      // Prepare
      script(json({ ...OK, MsgBody: TEXT("hello, politely") }));
      const message = c2c("HELLO");

      // Act
      const reply = await postTencent(stack.url, message.before);
      script(json(OK));
      await postTencent(stack.url, { ...message.after, MsgBody: TEXT("hello, politely") });

      // Assess
      expect(reply.body).toEqual({ ...OK, MsgBody: TEXT("hello, politely") });
      const found = await api(
        stack.url,
        `/v1/messages?provider=tencent&appId=1400000000&msgKey=${message.before.MsgKey}`,
      );
      const { id } = found.body as { id: string };
      const versions = (await api(stack.url, `/v1/messages/${id}/versions`)).body as {
        items: { version: number; source: string }[];
      };
      expect(versions.items.map((v) => [v.version, v.source]).sort()).toEqual([
        [1, "callback"],
        [2, "app"],
      ]);
    });

    it.each([
      ["answers slowly", slowly],
      ["answers garbage", json("<html>busy</html>")],
      ["answers 500", json(OK, 500)],
      ["answers an invalid envelope", json({ ActionStatus: "OK", ErrorCode: "0" })],
      ["is down (drops the connection)", hangUp],
    ] satisfies [string, Answer][])(
      "the app %s: the fallback policy within the budget",
      async (_, answer) => {
        script(answer);
        const started = performance.now();
        const reply = await postTencent(stack.url, c2c("anyone there?").before);
        expect(reply.body).toMatchObject({ ErrorCode: FALLBACK_CODE });
        expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 600);
      },
    );
  });

  describe("every other callback: answered at once, forwarded at least once", () => {
    it("an after-send reaches the app with its bytes, re-signed, naming the recorded message; retried through failures", async () => {
      // Prepare: the app fails twice (503), then takes it.
      const message = c2c("after");
      let failures = 0;
      script((n, got, res) => {
        if (got.body.toString().includes(message.after.MsgKey) && failures < 2) {
          failures += 1;
          return void res.writeHead(503).end();
        }
        json(OK)(n, got, res);
      });
      const raw = Buffer.from(JSON.stringify(message.after));

      // Act
      const reply = await postTencent(stack.url, message.after, { raw });

      // Assess: Tencent's answer does not wait for the app; the app gets the same bytes three times.
      expect(reply).toMatchObject({ status: 200, body: OK });
      await vi.waitFor(() => expect(receivedFor(message.after.MsgKey)).toHaveLength(3), {
        timeout: 8_000,
        interval: 25,
      });
      const deliveries = receivedFor(message.after.MsgKey);
      expect(new Set(deliveries.map((got) => got.headers["x-im-edit-forward-id"])).size).toBe(1);
      for (const got of deliveries) {
        expect(got.body.equals(raw)).toBe(true);
        expect(got.query.get("Sign")).toBe(appSign(got.query.get("RequestTime") ?? ""));
        expect(got.headers["x-im-edit-message-id"]).toMatch(/^c2c_/);
      }
    }, 15_000);

    it("a Yunxin copy: the app's own MD5/CheckSum check accepts the forward (signed with the app's secret)", async () => {
      // Prepare
      script(json({ code: 200 }));
      const msgidServer = String(Date.now());
      const body = Buffer.from(JSON.stringify({ ...fixture("netease", "copy-p2p-text"), msgidServer }));

      // Act
      const response = await request(`${stack.url}/callbacks/netease`, {
        method: "POST",
        headers: { "content-type": "application/json;charset=utf-8", ...copyHeaders(body) },
        body,
      });
      await response.body.text();

      // Assess
      expect(response.statusCode).toBe(200);
      await vi.waitFor(() => expect(receivedFor(msgidServer)).toHaveLength(1), {
        timeout: 5_000,
        interval: 25,
      });
      const [got] = receivedFor(msgidServer);
      const headers = got?.headers as Record<string, string>;
      expect(got?.body.equals(body)).toBe(true);
      expect(headers.md5).toBe(md5Hex(body));
      expect(() =>
        verifyNeteaseCopy(
          headers,
          got?.body ?? Buffer.alloc(0),
          { appKey: APP_KEY, appSecret: APP_NETEASE_SECRET, maxSkewMs: 60_000 },
          new Date(),
        ),
      ).not.toThrow();
      expect(headers["x-im-edit-message-id"]).toMatch(/^nim_/);
    });
  });
});
