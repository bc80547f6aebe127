import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InProcessOutbox } from "../../../functions/adapters/outbox/in-process.ts";
import type { DecideHook } from "../../../functions/core/decide.ts";
import type { DomainEvent } from "../../../functions/core/outbox.ts";
import type { LocalStack } from "../../../local/stack.ts";
import { fixture } from "../../helpers/fixtures.ts";
import { send } from "../../helpers/http.ts";
import { api, postTencent, startTestStack } from "../../helpers/stack.ts";
import { APP_ID } from "../../helpers/tencent.ts";
import { tencentApp } from "../../helpers/tencent-app.ts";

const text = (value: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: value } }];

/** A before-send rule for the test: messages saying "forbidden" are refused, "rewrite me" rewritten. */
const moderation: DecideHook = {
  name: "test-moderation",
  budgetMs: 200,
  decide: async ({ content }) => {
    const said = JSON.stringify(content.MsgBody ?? "");
    if (said.includes("forbidden")) return { action: "block", info: "not here" };
    if (said.includes("rewrite me")) return { action: "rewrite", content: { MsgBody: text("rewritten") } };
    return undefined;
  },
};

describe("callback stages through the local stack: events out, hooks in", () => {
  let stack: LocalStack;
  const outbox = new InProcessOutbox();
  const events: DomainEvent[] = [];
  outbox.subscribe((batch) => void events.push(...batch));

  beforeAll(async () => {
    stack = await startTestStack({ tencentSimulator: true, overrides: { outbox, hooks: [moderation] } });
  });
  afterAll(async () => {
    await stack.close();
  });

  /** The events about one message, once nothing new arrived for a moment (echoes come asynchronously). */
  async function settled(id: string): Promise<DomainEvent[]> {
    let count = -1;
    for (let i = 0; i < 50; i++) {
      const now = events.filter((e) => e.id === id).length;
      if (now === count) break;
      count = now;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return events.filter((e) => e.id === id);
  }

  it("a Tencent after-send publishes MessageRecorded; a PATCH publishes one MessageEdited (its echo none)", async () => {
    // Prepare: a message sent through the simulator, recorded from its after-send.
    const app = tencentApp(stack);
    const msgKey = await app.sendC2C(`u-${randomUUID().slice(0, 8)}`, `v-${randomUUID().slice(0, 8)}`, "hi");
    const found = await api(stack.url, `/v1/messages?provider=tencent&appId=${APP_ID}&msgKey=${msgKey}`);
    const id = (found.body as { id: string }).id;
    expect(await settled(id)).toEqual([
      expect.objectContaining({
        type: "MessageRecorded",
        id,
        provider: "tencent",
        version: 1,
        source: "callback",
      }),
    ]);

    // Act
    const edited = await send(stack.url, "PATCH", `/v1/messages/${id}`, { text: "hi, edited" });

    // Assess
    expect(edited.status).toBe(200);
    expect(await settled(id)).toEqual([
      expect.objectContaining({ type: "MessageRecorded", version: 1 }),
      expect.objectContaining({ type: "MessageEdited", id, version: 2, source: "api" }),
    ]);
  });

  it("a before-send hook answers Tencent: refused (ErrorCode 1) or rewritten (MsgBody), and nothing else changes", async () => {
    const beforeSend = (words: string) => ({
      ...fixture("tencent", "c2c-before-send"),
      MsgKey: `1_2_${randomUUID()}`,
      MsgBody: text(words),
    });

    const refused = await postTencent(stack.url, beforeSend("this is forbidden"));
    const rewritten = await postTencent(stack.url, beforeSend("please rewrite me"));
    const allowed = await postTencent(stack.url, beforeSend("fine"));

    expect(refused).toMatchObject({ status: 200, body: { ErrorCode: 1, ErrorInfo: "not here" } });
    expect(rewritten).toMatchObject({ status: 200, body: { ErrorCode: 0, MsgBody: text("rewritten") } });
    expect(allowed.body).toEqual({ ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 });
  });
});
