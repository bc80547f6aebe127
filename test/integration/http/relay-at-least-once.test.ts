import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import type { LocalStack } from "../../../local/stack.ts";
import { fixture } from "../../helpers/fixtures.ts";
import { APP_TOKEN, appSign, forwardApp } from "../../helpers/forward-app.ts";
import { postTencent, startTestStack } from "../../helpers/stack.ts";

const MESSAGES = 24;
const OK = { ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 };

/** The failures the app injects, in turn: each message fails `i % 3` times before the app takes it. */
const FAILURES: readonly ((res: ServerResponse) => void)[] = [
  (res) => void res.writeHead(503).end(),
  (res) => void res.socket?.destroy(),
  // Past FORWARD_TIMEOUT_MS: the attempt times out and is retried.
  (res) => void setTimeout(() => res.writeHead(200).end(JSON.stringify(OK)), 700),
  (res) => void res.writeHead(429, { "retry-after": "1" }).end(),
];

describe("the relay's asynchronous forwards: at least once through injected failures and a restart", () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it("every after-send reaches the app with its exact bytes, however often the app fails, across a restart", async () => {
    // Prepare: an app that fails each message's first i % 3 deliveries, each failure of another kind.
    const failuresLeft = new Map<string, number>();
    const kindOf = new Map<string, number>();
    const taken = new Map<string, { body: Buffer; ids: Set<string> }>();
    const app = await forwardApp((_n, got, res) => {
      const key = JSON.parse(got.body.toString()).MsgKey as string;
      const left = failuresLeft.get(key) ?? 0;
      if (left > 0) {
        failuresLeft.set(key, left - 1);
        const fail = FAILURES[((kindOf.get(key) ?? 0) + left) % FAILURES.length];
        return fail?.(res);
      }
      expect(got.query.get("Sign")).toBe(appSign(got.query.get("RequestTime") ?? ""));
      const seen = taken.get(key) ?? { body: got.body, ids: new Set<string>() };
      seen.ids.add(String(got.headers["x-im-edit-forward-id"]));
      taken.set(key, seen);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(OK));
    });
    cleanup.push(app.close);
    const dataDir = await mkdtemp(join(tmpdir(), "im-edit-relay-at-least-once-"));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const env = {
      DATA_DIR: dataDir,
      TENCENT_CALLBACK_FORWARD_URL: app.url,
      TENCENT_FORWARD_CALLBACK_TOKEN: APP_TOKEN,
      FORWARD_TIMEOUT_MS: "300",
    };
    const sent = new Map<string, Buffer>();
    const send = async (stack: LocalStack, i: number) => {
      const MsgKey = `1_2_${randomUUID()}`;
      failuresLeft.set(MsgKey, i % 3);
      kindOf.set(MsgKey, i);
      const body = {
        ...fixture("tencent", "c2c-after-send"),
        MsgKey,
        MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: `message ${i} — 第${i}条` } }],
      };
      const raw = Buffer.from(JSON.stringify(body));
      sent.set(MsgKey, raw);
      return postTencent(stack.url, body, { raw });
    };

    // Act: half the messages, a restart on the same DATA_DIR while forwards are failing, the other half.
    const first = await startTestStack({ env });
    const firstReplies = await Promise.all(Array.from({ length: MESSAGES / 2 }, (_, i) => send(first, i)));
    await first.close();
    const second = await startTestStack({ env });
    cleanup.push(() => second.close());
    const secondReplies = await Promise.all(
      Array.from({ length: MESSAGES / 2 }, (_, i) => send(second, MESSAGES / 2 + i)),
    );
    await vi.waitFor(() => expect(taken.size).toBe(MESSAGES), { timeout: 20_000, interval: 50 });

    // Assess: Tencent never waited for the app; every message arrived, byte for byte, under one id.
    for (const reply of [...firstReplies, ...secondReplies])
      expect(reply).toMatchObject({ status: 200, body: OK });
    for (const [key, raw] of sent) {
      const got = taken.get(key);
      expect(got?.body.equals(raw), key).toBe(true);
      expect(got?.ids.size, key).toBe(1);
    }
    expect([...failuresLeft.values()].every((left) => left === 0)).toBe(true);
    const letters = await readdir(join(dataDir, "dead-letters")).catch(() => []);
    expect(letters).toEqual([]);
  }, 40_000);
});
