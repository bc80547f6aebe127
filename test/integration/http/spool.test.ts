import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalDynamo, startDynalite } from "../../../local/dynamo.ts";
import type { LocalStack } from "../../../local/stack.ts";
import { fixture } from "../../helpers/fixtures.ts";
import { startTcpProxy } from "../../helpers/proxy.ts";
import { api, postTencent, startTestStack } from "../../helpers/stack.ts";
import { APP_ID } from "../../helpers/tencent.ts";

/** The whole natural key of the fixture's sender and receiver: the lookup reads the store by id. */
const lookup = (msgKey: string) =>
  `/v1/messages?${new URLSearchParams({ provider: "tencent", appId: APP_ID, msgKey, from: "jared", to: "Jonh" })}`;

describe("durable fallback when the store fails", () => {
  let dynamo: LocalDynamo;
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  let stack: LocalStack;
  beforeAll(async () => {
    dynamo = await startDynalite();
    proxy = await startTcpProxy(new URL(dynamo.endpoint));
    stack = await startTestStack({ dynamodbEndpoint: proxy.endpoint });
  });
  afterAll(async () => {
    await stack.close();
    await proxy.close();
    await dynamo.close();
  });

  it("acknowledges and spools verified callbacks while the store is down, then applies them once", async () => {
    // Prepare: the store becomes unreachable (connections reset).
    const keys = Array.from({ length: 5 }, () => `4_4_${randomUUID()}`);
    proxy.setDown(true);
    // Act
    const started = Date.now();
    const replies = await Promise.all(
      keys.map((msgKey) =>
        postTencent(stack.url, { ...fixture("tencent", "c2c-after-send"), MsgKey: msgKey }),
      ),
    );
    const elapsed = Date.now() - started;
    const duplicate = await postTencent(stack.url, {
      ...fixture("tencent", "c2c-after-send"),
      MsgKey: keys[0],
    });
    const whileDown = await api(stack.url, lookup(keys[0] as string));
    // Assess: acknowledged inside Tencent's 2 s budget, kept on disk, reads say 503 not 500.
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(elapsed).toBeLessThan(2_000);
    expect(duplicate.status).toBe(200);
    expect(await stack.spool.pending()).toHaveLength(6);
    expect(whileDown.status).toBe(503);
    expect(whileDown.headers["retry-after"]).toBe("1");
    // A drain while the store is still down keeps everything.
    expect(await stack.drain()).toEqual({ applied: 0, remaining: 6 });

    // Act: the store comes back.
    proxy.setDown(false);
    const drained = await stack.drain();
    // Assess: every callback applied once (the duplicate is a no-op), spool empty.
    expect(drained).toEqual({ applied: 6, remaining: 0 });
    expect(await stack.spool.pending()).toEqual([]);
    for (const msgKey of keys) {
      const record = await api(stack.url, lookup(msgKey));
      expect(record.body).toMatchObject({ state: "sent", version: 1 });
      const id = (record.body as { id: string }).id;
      expect(
        ((await api(stack.url, `/v1/messages/${id}/versions`)).body as { items: unknown[] }).items,
      ).toHaveLength(1);
    }
  });

  it("does not spool what it refuses: a bad signature is a 401 even while the store is down", async () => {
    proxy.setDown(true);
    try {
      const before = (await stack.spool.pending()).length;
      const response = await postTencent(stack.url, fixture("tencent", "c2c-after-send"), {
        query: { Sign: "bad" },
      });
      expect(response.status).toBe(401);
      expect(await stack.spool.pending()).toHaveLength(before);
    } finally {
      proxy.setDown(false);
    }
  });
});
