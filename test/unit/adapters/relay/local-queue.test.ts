import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DirectoryDeadLetters } from "../../../../functions/adapters/dead-letters/directory.ts";
import { writeForwardFile } from "../../../../functions/adapters/relay/forward-entries.ts";
import { createForwarder } from "../../../../functions/adapters/relay/http-forwarder.ts";
import {
  LocalForwardQueue,
  type LocalForwardQueueOptions,
} from "../../../../functions/adapters/relay/local-queue.ts";
import type { DeadLetterReason } from "../../../../functions/core/dead-letters.ts";
import { MisconfiguredError } from "../../../../functions/core/errors.ts";
import { deliverForward, ForwardFailure, forwardOf } from "../../../../functions/core/forwarding.ts";
import type { CallbackRelay, Forward } from "../../../../functions/core/relay.ts";
import { APP_TOKEN, appSign, forwardApp, signingRelay, tickingClock } from "../../../helpers/forward-app.ts";

const BODY = Buffer.from(
  '{"CallbackCommand":"C2C.CallbackAfterSendMsg","MsgBody":[{"Text":"é 你好 \u0000"}]}',
);
const QUERY = "SdkAppid=1400000000&CallbackCommand=C2C.CallbackAfterSendMsg&RequestTime=1&Sign=received";

function forwardTo(relay: CallbackRelay, body = BODY): Forward {
  return forwardOf(
    {
      query: {},
      rawQuery: QUERY,
      headers: { "content-type": "application/json" },
      body,
      receivedAt: new Date("2026-11-23T12:00:00.000Z"),
      sourceIp: "203.0.113.7",
    },
    "tencent",
    relay,
    "tencent:1400000000:c2c:k",
  );
}

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "im-edit-forwards-"));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** What a queue reported, in order. */
function observer() {
  const seen = {
    delivered: [] as { forward: Forward; attempts: number }[],
    retries: [] as { attempts: number; code: string; delayMs: number }[],
    dead: [] as { forward: Forward | undefined; reason: DeadLetterReason }[],
  };
  const hooks: Pick<LocalForwardQueueOptions, "onDelivered" | "onRetry" | "onDeadLettered"> = {
    onDelivered: (forward, attempts) => seen.delivered.push({ forward, attempts }),
    onRetry: (_forward, attempts, reason, delayMs) =>
      seen.retries.push({ attempts, code: reason.code, delayMs }),
    onDeadLettered: (forward, reason) => seen.dead.push({ forward, reason }),
  };
  return { seen, hooks };
}

function queue(options: LocalForwardQueueOptions): LocalForwardQueue {
  const q = new LocalForwardQueue({ initialBackoffMs: 5, maxBackoffMs: 40, pollMs: 20, ...options });
  cleanup.push(() => q.close());
  return q;
}

/** The real delivery: deliverForward over the undici forwarder, signing at a ticking clock. */
function httpDelivery(relay: CallbackRelay) {
  const forwarder = createForwarder({ maxResponseBytes: 1024, connectTimeoutMs: 500 });
  cleanup.push(() => forwarder.close());
  const now = tickingClock();
  return (forward: Forward) => deliverForward(forward, { relay, forwarder, timeoutMs: 1000, now });
}

/** A queue on a fresh DATA_DIR delivering over HTTP to `relay`, its given-up forwards kept as dead letters. */
async function deadLetteringQueue(relay: CallbackRelay, maxAttempts: number) {
  const root = await dataDir();
  const letters = new DirectoryDeadLetters(join(root, "dead-letters"));
  const { seen, hooks } = observer();
  const q = queue({
    directory: join(root, "forwards"),
    deliver: httpDelivery(relay),
    maxAttempts,
    deadLetters: letters,
    ...hooks,
  });
  return { root, letters, seen, q };
}

const WAIT = { timeout: 5_000, interval: 10 };

describe("LocalForwardQueue: at least once, durable under DATA_DIR/forwards", () => {
  it("retries an app that fails 3 times: delivered on the 4th with the same bytes, freshly signed each time", async () => {
    // Prepare
    const app = await forwardApp((n, _req, res) => res.writeHead(n < 3 ? 503 : 200).end());
    cleanup.push(app.close);
    const relay = signingRelay(app.url);
    const dir = join(await dataDir(), "forwards");
    const { seen, hooks } = observer();
    const q = queue({ directory: dir, deliver: httpDelivery(relay), maxAttempts: 8, ...hooks });
    const forward = forwardTo(relay);

    // Act
    await q.enqueue(forward);
    await vi.waitFor(() => expect(seen.delivered).toHaveLength(1), WAIT);

    // Assess
    expect(seen.delivered[0]?.attempts).toBe(4);
    expect(seen.retries).toEqual([
      { attempts: 1, code: "app_status", delayMs: 5 },
      { attempts: 2, code: "app_status", delayMs: 10 },
      { attempts: 3, code: "app_status", delayMs: 20 },
    ]);
    expect(app.received).toHaveLength(4);
    for (const got of app.received) {
      expect(got.body.equals(BODY)).toBe(true);
      expect(got.headers["x-im-edit-forward-id"]).toBe(forward.id);
      expect(got.headers["x-im-edit-message-id"]).toBe("tencent:1400000000:c2c:k");
      expect(got.headers["x-forwarded-for"]).toBe("203.0.113.7");
      expect(got.query.get("Sign")).toBe(appSign(got.query.get("RequestTime") ?? ""));
    }
    expect(new Set(app.received.map((got) => got.query.get("RequestTime"))).size).toBe(4);
    expect(await readdir(dir)).toEqual([]);
  });

  it("is durable before enqueue resolves, and a new process on the directory delivers what was left", async () => {
    // Prepare
    const dir = join(await dataDir(), "forwards");
    const relay = signingRelay("http://127.0.0.1:9/unused");
    const first = observer();
    const down = new ForwardFailure(true, { code: "unreachable", message: "down" });
    const before = new LocalForwardQueue({
      directory: dir,
      deliver: () => Promise.reject(down),
      maxAttempts: 8,
      initialBackoffMs: 60_000,
      ...first.hooks,
    });
    const forward = forwardTo(relay);
    await before.enqueue(forward);
    expect(await readdir(dir)).toHaveLength(1);
    await vi.waitFor(() => expect(first.seen.retries).toHaveLength(1), WAIT);
    await before.close();

    // Act
    const delivered: Forward[] = [];
    const second = observer();
    queue({
      directory: dir,
      deliver: async (f) => {
        delivered.push(f);
      },
      maxAttempts: 8,
      ...second.hooks,
    });
    await vi.waitFor(() => expect(second.seen.delivered).toHaveLength(1), WAIT);

    // Assess
    expect(delivered).toEqual([forward]);
    expect(second.seen.delivered[0]?.attempts).toBe(2);
    expect(await readdir(dir)).toEqual([]);
  });

  it("dead-letters a forward out of attempts with the last reason, and no secret in it", async () => {
    // Prepare
    const app = await forwardApp((_n, _req, res) => res.writeHead(503).end(`token ${APP_TOKEN}`));
    cleanup.push(app.close);
    const relay = signingRelay(app.url);
    const { root, letters, seen, q } = await deadLetteringQueue(relay, 3);
    const forward = forwardTo(relay);

    // Act
    await q.enqueue(forward);
    await vi.waitFor(() => expect(seen.dead).toHaveLength(1), WAIT);

    // Assess
    expect(app.received).toHaveLength(3);
    const { letters: kept } = await letters.list();
    expect(kept).toHaveLength(1);
    expect(kept[0]?.reason).toEqual({
      code: "app_status",
      message: "the app answered 503",
      status: 503,
      receiveCount: 3,
      source: "forward-queue",
    });
    expect(JSON.parse(kept[0]?.body ?? "")).toEqual(forward);
    const files = await readdir(letters.directory);
    const text = await readFile(join(letters.directory, files[0] ?? ""), "utf8");
    expect(text).not.toContain(APP_TOKEN);
    for (const got of app.received) expect(text).not.toContain(got.query.get("Sign"));
    expect(await readdir(join(root, "forwards"))).toEqual([]);
  });

  it.each([400, 404, 302])(
    "dead-letters a %i at once (refused or redirected: redrivable)",
    async (status) => {
      // Prepare
      const app = await forwardApp((_n, _req, res) =>
        res.writeHead(status, { location: "/elsewhere" }).end(),
      );
      cleanup.push(app.close);
      const relay = signingRelay(app.url);
      const { letters, seen, q } = await deadLetteringQueue(relay, 8);

      // Act
      await q.enqueue(forwardTo(relay));
      await vi.waitFor(() => expect(seen.dead).toHaveLength(1), WAIT);

      // Assess
      expect(app.received).toHaveLength(1);
      expect(seen.retries).toEqual([]);
      expect(seen.dead[0]?.reason).toMatchObject({ code: "app_status", status, receiveCount: 1 });
      expect((await letters.list()).letters).toHaveLength(1);
    },
  );

  it("dead-letters a forward whose app secret is unusable as misconfigured, without calling the app", async () => {
    // Prepare
    const app = await forwardApp();
    cleanup.push(app.close);
    const relay: CallbackRelay = {
      ...signingRelay(app.url),
      sign: () => {
        throw new MisconfiguredError("TENCENT_FORWARD_CALLBACK_TOKEN is unusable");
      },
    };
    const { seen, q } = await deadLetteringQueue(relay, 8);

    // Act
    await q.enqueue(forwardTo(relay));
    await vi.waitFor(() => expect(seen.dead).toHaveLength(1), WAIT);

    // Assess
    expect(app.received).toEqual([]);
    expect(seen.dead[0]?.reason.code).toBe("misconfigured");
  });

  it("delivers a forward put into its directory by someone else (redrive) within a poll", async () => {
    // Prepare
    const dir = join(await dataDir(), "forwards");
    const delivered: Forward[] = [];
    queue({
      directory: dir,
      deliver: async (f) => {
        delivered.push(f);
      },
      maxAttempts: 8,
    });
    const forward = forwardTo(signingRelay("http://127.0.0.1:9/unused"));

    // Act
    await writeForwardFile(dir, { forward, attempts: 0 });
    await vi.waitFor(() => expect(delivered).toHaveLength(1), WAIT);

    // Assess
    expect(delivered[0]).toEqual(forward);
  });

  it("dead-letters a file in its directory that is not a forward, as it was", async () => {
    // Prepare
    const root = await dataDir();
    const dir = join(root, "forwards");
    const letters = new DirectoryDeadLetters(join(root, "dead-letters"));
    const deliver = vi.fn(async () => {});
    const { seen, hooks } = observer();
    await writeForwardFile(dir, { forward: forwardTo(signingRelay("http://127.0.0.1:9/x")), attempts: 0 });
    const [name] = await readdir(dir);
    await writeFile(join(dir, name ?? ""), '{"forward":{"provider":"tencent"}}');

    // Act
    queue({ directory: dir, deliver, maxAttempts: 8, deadLetters: letters, ...hooks });
    await vi.waitFor(() => expect(seen.dead).toHaveLength(1), WAIT);

    // Assess
    expect(deliver).not.toHaveBeenCalled();
    const { letters: kept } = await letters.list();
    expect(kept[0]?.body).toBe('{"forward":{"provider":"tencent"}}');
    expect(kept[0]?.reason).toMatchObject({ code: "not_a_forward", source: "forward-queue" });
    expect(await readdir(dir)).toEqual([]);
  });

  it("without DATA_DIR keeps forwards in memory, with the same retries", async () => {
    // Prepare
    let calls = 0;
    const { seen, hooks } = observer();
    const q = queue({
      deliver: async () => {
        calls++;
        if (calls < 3) throw new ForwardFailure(true, { code: "timeout", message: "slow" });
      },
      maxAttempts: 8,
      ...hooks,
    });

    // Act
    await q.enqueue(forwardTo(signingRelay("http://127.0.0.1:9/x")));
    await vi.waitFor(() => expect(seen.delivered).toHaveLength(1), WAIT);

    // Assess
    expect(calls).toBe(3);
    expect(seen.delivered[0]?.attempts).toBe(3);
  });

  it("retries what a delivery throws that is not a ForwardFailure, named only", async () => {
    // Prepare
    const { seen, hooks } = observer();
    const q = queue({
      deliver: () => Promise.reject(new TypeError(`boom ${APP_TOKEN}`)),
      maxAttempts: 2,
      ...hooks,
    });

    // Act
    await q.enqueue(forwardTo(signingRelay("http://127.0.0.1:9/x")));
    await vi.waitFor(() => expect(seen.dead).toHaveLength(1), WAIT);

    // Assess
    expect(seen.retries).toHaveLength(1);
    expect(seen.dead[0]?.reason).toMatchObject({
      code: "unexpected",
      message: "the forward failed: TypeError",
      receiveCount: 2,
    });
  });

  it("close lets the attempt under way finish, starts no other, and refuses new forwards", async () => {
    // Prepare
    const dir = join(await dataDir(), "forwards");
    let release: () => void = () => {};
    const started: Forward[] = [];
    const q = new LocalForwardQueue({
      directory: dir,
      deliver: (f) => {
        started.push(f);
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
      maxAttempts: 8,
      concurrency: 1,
      pollMs: 20,
    });
    const relay = signingRelay("http://127.0.0.1:9/x");
    await q.enqueue(forwardTo(relay));
    await q.enqueue(forwardTo(relay, Buffer.from("second")));
    await vi.waitFor(() => expect(started).toHaveLength(1), WAIT);

    // Act
    const closing = q.close();
    release();
    await closing;

    // Assess
    expect(started).toHaveLength(1);
    expect(await readdir(dir)).toHaveLength(1);
    await expect(q.enqueue(forwardTo(relay))).rejects.toThrow("closed");
  });
});
