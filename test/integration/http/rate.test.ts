import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../../local/stack.ts";
import { send } from "../../helpers/http.ts";
import { api, startTestStack } from "../../helpers/stack.ts";
import { APP_ID } from "../../helpers/tencent.ts";
import { tencentApp } from "../../helpers/tencent-app.ts";

describe.each(["memory", "dynamodb"])("rate contract through the editor (%s limiter)", (rateLimiter) => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({
      tencentSimulator: true,
      env: {
        TENCENT_RATE_LIMIT: "2",
        TENCENT_RATE_WINDOW_MS: "1000",
        EDIT_WAIT_MS: "300",
        RATE_LIMITER: rateLimiter,
      },
    });
  });
  afterAll(async () => {
    await stack.close();
  });

  it("sends at most R modifies per rolling window and answers the rest 429 with Retry-After", async () => {
    // Prepare: six messages, edited all at once.
    const app = tencentApp(stack);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const msgKey = await app.sendC2C(`rate-a${i}`, "rate-b", "hi");
      ids.push(
        (
          (await api(stack.url, `/v1/messages?provider=tencent&appId=${APP_ID}&msgKey=${msgKey}`)).body as {
            id: string;
          }
        ).id,
      );
    }
    const before = stack.tencent?.stats.calls.modify_c2c_msg ?? 0;
    // Act
    const replies = await Promise.all(
      ids.map((id) => send(stack.url, "PATCH", `/v1/messages/${id}`, { text: "edited" })),
    );
    // Assess
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 429, 429, 429, 429]);
    const limited = replies.find((r) => r.status === 429);
    expect(Number(limited?.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect((stack.tencent?.stats.calls.modify_c2c_msg ?? 0) - before).toBe(2);
    expect(stack.tencent?.stats.rateLimited.modify_c2c_msg ?? 0).toBe(0);
  });
});
