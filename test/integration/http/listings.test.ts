import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeadLetterReason } from "../../../functions/core/dead-letters.ts";
import { consumeQueue, invoke } from "../../../functions/editor.ts";
import type { LocalStack } from "../../../local/stack.ts";
import { send } from "../../helpers/http.ts";
import { sqsEvent } from "../../helpers/sqs-event.ts";
import { api, startTestStack } from "../../helpers/stack.ts";
import { APP_ID } from "../../helpers/tencent.ts";
import { tencentApp } from "../../helpers/tencent-app.ts";

const query = (params: Record<string, string>) =>
  new URLSearchParams({ provider: "tencent", appId: APP_ID, ...params }).toString();

interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/**
 * `LISTINGS=none npm start` and `LISTINGS=conversation npm start` answer as AWS would with those listings
 * off: the embedded store has its own indexes, and the core refuses what needs a listing that is off with
 * 400 `listing_disabled`, before the store; ids and whole natural keys keep working.
 */
describe.each([
  { listings: "none", conversationListed: false },
  { listings: "conversation", conversationListed: true },
])("LISTINGS=$listings over HTTP (local stack)", ({ listings, conversationListed }) => {
  let stack: LocalStack;
  let url: string;
  const from = `alice-${randomUUID().slice(0, 8)}`;
  let msgKey: string;
  let record: { id: string; conversation: string };

  beforeAll(async () => {
    stack = await startTestStack({ env: { LISTINGS: listings } });
    url = stack.url;
    // Sent through the simulator, so it can be edited; recorded from the simulator's callback.
    msgKey = await tencentApp(stack).sendC2C(from, "bob", "hello");
    for (let attempt = 0; attempt < 100; attempt++) {
      const whole = await api(url, `/v1/messages?${query({ msgKey, from, to: "bob" })}`);
      record = whole.body as typeof record;
      if (whole.status === 200) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error("the message was not recorded");
  });
  afterAll(async () => {
    await stack?.close();
  });

  const refused = (reply: { status: number; body: unknown }, listing: "conversation" | "app") => {
    expect(reply.status).toBe(400);
    const { error } = reply.body as ErrorBody;
    expect(error.code).toBe("listing_disabled");
    expect(error.details).toEqual({ listing, listings });
    expect(error.message).toContain(`needs the ${listing} listing, which is off (LISTINGS=${listings})`);
    expect(error.message).toContain("-c listings=");
    return error.message;
  };

  it("ids and whole natural keys need no listing", async () => {
    // Act
    const byId = await api(url, `/v1/messages/${record.id}`);
    const edited = await send(url, "PATCH", `/v1/messages?${query({ msgKey, from, to: "bob" })}`, {
      text: "edited",
    });

    // Assess
    expect(byId.status).toBe(200);
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ id: record.id, version: 2 });
  });

  it("a partial natural key is 400 listing_disabled, saying the whole key still works", async () => {
    // Act
    const message = refused(await api(url, `/v1/messages?${query({ msgKey })}`), "app");
    const patched = await send(url, "PATCH", `/v1/messages?${query({ msgKey, from })}`, { text: "x" });

    // Assess
    expect(message).toContain("The whole natural key still works");
    refused(patched, "app");
  });

  it("the whole app and one sender are 400 listing_disabled (the app listing is off)", async () => {
    refused(await api(url, `/v1/messages?${query({})}`), "app");
    refused(await api(url, `/v1/messages?${query({ sender: from })}`), "app");
  });

  it(`a conversation is ${conversationListed ? "listed" : "400 listing_disabled"}`, async () => {
    // Act
    const reply = await api(
      url,
      `/v1/messages?${query({ conversation: record.conversation, sender: from })}`,
    );

    // Assess
    if (conversationListed) expect(reply.body).toMatchObject({ items: [{ id: record.id }] });
    else refused(reply, "conversation");
  });

  it("a direct invoke gets the same refusal, and a queued edit by a partial key is dead-lettered with it", async () => {
    // Prepare
    const letters: DeadLetterReason[] = [];
    const queued = sqsEvent(
      [
        JSON.stringify({
          action: "edit",
          target: { key: { provider: "tencent", appId: APP_ID, msgKey } },
          body: { text: "queued" },
        }),
      ],
      { arn: "arn:aws:sqs:us-east-1:123456789012:edit-queue" },
    );

    // Act
    const invoked = await invoke({ action: "list", provider: "tencent", appId: APP_ID, sender: from });
    const consumed = await consumeQueue(queued, {
      letters: { put: async (_body, reason) => void letters.push(reason) },
      maxReceives: 5,
      source: "edit-queue",
    });

    // Assess
    refused(invoked, "app");
    expect(consumed.batchItemFailures).toEqual([]);
    expect(letters).toEqual([expect.objectContaining({ code: "listing_disabled", status: 400 })]);
  });

  it("a bulk job whose selector needs a listing that is off is refused at creation", async () => {
    // Prepare
    const job = (selector: Record<string, string>) => ({
      selector: { provider: "tencent", appId: APP_ID, ...selector },
      edit: { text: "bulk" },
      dryRun: true,
    });

    // Act
    const bySender = await send(url, "POST", "/v1/edits", job({ sender: from }));
    const byConversation = await send(url, "POST", "/v1/edits", job({ conversation: record.conversation }));
    const jobs = await api(url, "/v1/edits");

    // Assess
    refused(bySender, "app");
    if (conversationListed) expect(byConversation.status).toBe(202);
    else refused(byConversation, "conversation");
    expect((jobs.body as { items: unknown[] }).items).toHaveLength(conversationListed ? 1 : 0);
  });
});
