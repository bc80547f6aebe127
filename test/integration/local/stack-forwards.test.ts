import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { writeForwardFile } from "../../../functions/adapters/relay/forward-entries.ts";
import { forwardOf } from "../../../functions/core/forwarding.ts";
import { APP_TOKEN, appSign, forwardApp, signingRelay } from "../../helpers/forward-app.ts";
import { startTestStack } from "../../helpers/stack.ts";

const BODY = Buffer.from('{"CallbackCommand":"C2C.CallbackAfterSendMsg","MsgKey":"k"}');

const forward = forwardOf(
  {
    query: {},
    rawQuery: "SdkAppid=1400000000&CallbackCommand=C2C.CallbackAfterSendMsg&RequestTime=1&Sign=x",
    headers: { "content-type": "application/json" },
    body: BODY,
    receivedAt: new Date("2026-11-23T12:00:00.000Z"),
  },
  "tencent",
  signingRelay("http://127.0.0.1:9/unused"),
);

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

describe("the local stack's forward queue (DATA_DIR/forwards)", () => {
  it("delivers forwards a previous run left on start, stops on close, and the next start delivers the rest", async () => {
    // Prepare
    const app = await forwardApp((_n, _req, res) => res.writeHead(200).end());
    cleanup.push(app.close);
    const dataDir = await mkdtemp(join(tmpdir(), "im-edit-stack-forwards-"));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const forwards = join(dataDir, "forwards");
    const env = {
      DATA_DIR: dataDir,
      TENCENT_CALLBACK_FORWARD_URL: app.url,
      TENCENT_FORWARD_CALLBACK_TOKEN: APP_TOKEN,
    };
    await writeForwardFile(forwards, { forward, attempts: 2 });
    const start = () => startTestStack({ env });

    // Act: the first run delivers what was left, then stops
    const first = await start();
    try {
      await vi.waitFor(() => expect(app.received).toHaveLength(1), { timeout: 5_000, interval: 10 });
    } finally {
      await first.close();
    }
    await writeForwardFile(forwards, { forward, attempts: 0 });
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const whileStopped = app.received.length;
    const second = await start();
    cleanup.push(() => second.close());
    await vi.waitFor(() => expect(app.received).toHaveLength(2), { timeout: 5_000, interval: 10 });

    // Assess
    expect(whileStopped).toBe(1);
    for (const got of app.received) {
      expect(got.body.equals(BODY)).toBe(true);
      expect(got.query.get("Sign")).toBe(appSign(got.query.get("RequestTime") ?? ""));
      expect(got.headers["x-im-edit-forward-id"]).toBe(forward.id);
    }
    await vi.waitFor(async () => expect(await readdir(forwards)).toEqual([]), {
      timeout: 5_000,
      interval: 10,
    });
  }, 30_000);
});
