import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { SQSBatchResponse } from "aws-lambda";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { EventEnvelope } from "../../../functions/adapters/outbox/http.ts";
import type { Reply as OperationReply } from "../../../functions/api/operations.ts";
import { handler as editor } from "../../../functions/editor.ts";
import { logger } from "../../../functions/logger.ts";
import { LOCAL_EVENTS_PATH } from "../../../local/events.ts";
import { lambdaContext } from "../../../local/server.ts";
import type { LocalStack } from "../../../local/stack.ts";
import { send } from "../../helpers/http.ts";
import { api, startTestStack } from "../../helpers/stack.ts";
import { APP_ID } from "../../helpers/tencent.ts";
import { tencentApp } from "../../helpers/tencent-app.ts";

interface Captured {
  readonly path: string;
  readonly command: string;
  readonly body: Buffer;
  readonly contentType: string;
}

const readAll = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
};

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

type VersionEvent = EventEnvelope["detail"] & { type: "MessageRecorded" | "MessageEdited" };

describe("events through the local stack: IM_EDIT_EVENTS_URL, EditRequested in", () => {
  let stack: LocalStack;
  /** What IM_EDIT_EVENTS_URL received, envelope by envelope. */
  const envelopes: EventEnvelope[] = [];
  let collector: Server;
  /** Between the simulator and the recorder: keeps every callback, to deliver some again. */
  let relay: Server;
  const callbacks: Captured[] = [];

  beforeAll(async () => {
    collector = createServer(async (req, res) => {
      envelopes.push(...(JSON.parse((await readAll(req)).toString("utf8")) as EventEnvelope[]));
      res.writeHead(204).end();
    });
    const collectorUrl = await listen(collector);
    stack = await startTestStack({
      tencentSimulator: true,
      env: { IM_EDIT_EVENTS_URL: `${collectorUrl}/events` },
    });
    relay = createServer(async (req, res) => {
      const body = await readAll(req);
      const path = req.url ?? "/";
      const contentType = String(req.headers["content-type"] ?? "application/json");
      const command = new URL(path, "http://relay").searchParams.get("CallbackCommand") ?? "";
      callbacks.push({ path, command, body, contentType });
      const answer = await request(`${stack.url}${path}`, {
        method: "POST",
        headers: { "content-type": contentType },
        body,
      });
      res.writeHead(answer.statusCode, { "content-type": "application/json" });
      res.end(Buffer.from(await answer.body.arrayBuffer()));
    });
    stack.tencent?.setCallbackUrl(`${await listen(relay)}/callbacks/tencent`);
  });
  afterAll(async () => {
    await stack.close();
    await close(relay);
    await close(collector);
  });

  /** Delivers a captured callback to the recorder again, byte for byte. */
  const redeliver = async (callback: Captured) => {
    const answer = await request(`${stack.url}${callback.path}`, {
      method: "POST",
      headers: { "content-type": callback.contentType },
      body: callback.body,
    });
    await answer.body.dump();
    expect(answer.statusCode).toBe(200);
  };

  /** The version events about a message, once nothing new arrived for a moment (echoes come later). */
  async function settled(id: string): Promise<VersionEvent[]> {
    const mine = () =>
      envelopes
        .map((envelope) => envelope.detail)
        .filter((event): event is VersionEvent => event.id === id && event.type !== "EditFailed");
    let count = -1;
    for (let i = 0; i < 60; i++) {
      const now = mine().length;
      if (now === count && i > 3) break;
      count = now;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return mine();
  }

  async function versions(id: string): Promise<{ version: number; source: string }[]> {
    const reply = await api(stack.url, `/v1/messages/${id}/versions?limit=100`);
    return (reply.body as { items: { version: number; source: string }[] }).items;
  }

  /** A message sent through the simulator and recorded from its after-send: its id. */
  async function sentMessage(): Promise<{ id: string; msgKey: string }> {
    const app = tencentApp(stack);
    const msgKey = await app.sendC2C(`u-${randomUUID().slice(0, 8)}`, `v-${randomUUID().slice(0, 8)}`, "hi");
    const found = await api(stack.url, `/v1/messages?provider=tencent&appId=${APP_ID}&msgKey=${msgKey}`);
    expect(found.status).toBe(200);
    return { id: (found.body as { id: string }).id, msgKey };
  }

  const editRequested = (id: string, text: string, extra: Record<string, unknown> = {}) => ({
    version: "0",
    id: randomUUID(),
    "detail-type": "EditRequested",
    source: "im-edit",
    account: "000000000000",
    time: new Date().toISOString(),
    region: "local",
    resources: [],
    detail: { action: "edit", target: { id }, body: { text }, actor: "moderation-bot", ...extra },
  });

  it("exactly one MessageRecorded/MessageEdited per (message, version): duplicates and echoes add none", async () => {
    // Prepare: recorded from the simulator's after-send.
    const { id } = await sentMessage();
    const afterSend = callbacks.find((c) => c.command === "C2C.CallbackAfterSendMsg");
    if (!afterSend) throw new Error("no after-send callback captured");

    // Act: the after-send again (3 at once), an API edit (its echo), the echo again, a restore, two
    // EditRequested (the local route, and an SQS message carrying the envelope).
    await Promise.all([redeliver(afterSend), redeliver(afterSend), redeliver(afterSend)]);
    const edited = await send(stack.url, "PATCH", `/v1/messages/${id}`, { text: "hi, edited" });
    expect(edited.status).toBe(200);
    await settled(id);
    const echo = callbacks.findLast((c) => c.command === "C2C.CallbackAfterModifyMsg");
    if (!echo) throw new Error("no after-modify echo captured");
    await redeliver(echo);
    const restored = await send(stack.url, "POST", `/v1/messages/${id}/restore`, { version: 1 });
    expect(restored.status).toBe(200);
    const routed = await send(stack.url, "POST", LOCAL_EVENTS_PATH, {
      Entries: [
        {
          Source: "im-edit",
          DetailType: "EditRequested",
          Detail: JSON.stringify({ target: { id }, body: { text: "by event" } }),
        },
      ],
    });
    expect(routed.body).toMatchObject({
      FailedEntryCount: 0,
      Entries: [{ matched: true, result: { status: 200 } }],
    });
    const queued = (await editor(
      {
        Records: [
          {
            eventSource: "aws:sqs",
            messageId: "m-1",
            body: JSON.stringify(editRequested(id, "by queue")),
          },
        ],
      } as never,
      lambdaContext("editor"),
    )) as SQSBatchResponse;
    expect(queued.batchItemFailures).toEqual([]);

    // Assess
    const events = await settled(id);
    const history = await versions(id);
    expect(history.map((v) => v.version)).toEqual([1, 2, 3, 4, 5]);
    expect(events.map((e) => `${e.type}/${e.version}`).sort()).toEqual([
      "MessageEdited/2",
      "MessageEdited/3",
      "MessageEdited/4",
      "MessageEdited/5",
      "MessageRecorded/1",
    ]);
    expect(events.map((e) => [e.version, e.source])).toEqual(
      expect.arrayContaining(history.map((v) => [v.version, v.source])),
    );
    expect(events.find((e) => e.version === 5)).toMatchObject({ actor: "moderation-bot", source: "api" });
    expect(events.find((e) => e.version === 4)).toMatchObject({ actor: "event" });
    // Ids only: no content leaves the process by default.
    expect(JSON.stringify(envelopes)).not.toContain("by event");
    expect(envelopes.every((e) => e.source === "im-edit" && e["detail-type"] === e.detail.type)).toBe(true);
  });

  it("an EditRequested delivered twice (same event id) edits once", async () => {
    // Prepare
    const { id } = await sentMessage();
    const event = editRequested(id, "once");

    // Act
    const first = (await editor(event as never, lambdaContext("editor"))) as OperationReply;
    const again = (await editor(event as never, lambdaContext("editor"))) as OperationReply;

    // Assess
    expect(first).toMatchObject({ status: 200, body: { version: 2 } });
    expect(again).toMatchObject({ status: 200, body: { version: 2 } });
    expect((await versions(id)).map((v) => v.version)).toEqual([1, 2]);
    expect((await settled(id)).map((e) => e.version)).toEqual([1, 2]);
  });

  it("a malformed or foreign event is refused and logged, never thrown (no retries), and edits nothing", async () => {
    // Prepare
    const { id } = await sentMessage();
    const refusals = vi.spyOn(logger, "error");
    const malformed = {
      ...editRequested(id, "x"),
      detail: { target: { id }, body: { text: "x" }, extra: 1 },
    };
    const notJson = { ...editRequested(id, "x"), detail: "{not json" };
    const foreign = { ...editRequested(id, "x"), "detail-type": "MessageEdited" };
    const purge = { ...editRequested(id, "x"), detail: { action: "purge", target: { id }, reason: "r" } };

    // Act
    const replies: OperationReply[] = [];
    for (const event of [malformed, notJson, foreign, purge]) {
      replies.push((await editor(event as never, lambdaContext("editor"))) as OperationReply);
    }
    const viaQueue = (await editor(
      { Records: [{ eventSource: "aws:sqs", messageId: "m-2", body: JSON.stringify(foreign) }] } as never,
      lambdaContext("editor"),
    )) as SQSBatchResponse;

    // Assess
    expect(replies.map((reply) => reply.status)).toEqual([400, 400, 400, 400]);
    expect(replies.map((reply) => (reply.body as { error: { code: string } }).error.code)).toEqual([
      "validation_failed",
      "validation_failed",
      "unsupported_event",
      "validation_failed",
    ]);
    expect(viaQueue.batchItemFailures).toEqual([]);
    const logged = refusals.mock.calls.filter(([message]) => message === "event refused");
    expect(logged).toHaveLength(5);
    expect(JSON.stringify(logged)).not.toContain('"x"');
    expect((await versions(id)).map((v) => v.version)).toEqual([1]);
    refusals.mockRestore();
  });

  it("the local events route: bearer-protected, PutEvents-shaped, unmatched entries reach nothing", async () => {
    // Prepare
    const { id } = await sentMessage();

    // Act
    const unauthorized = await request(`${stack.url}${LOCAL_EVENTS_PATH}`, { method: "POST", body: "{}" });
    await unauthorized.body.dump();
    const mixed = await send(stack.url, "POST", LOCAL_EVENTS_PATH, [
      { DetailType: "SomethingElse", Detail: "{}" },
      { DetailType: "EditRequested", Detail: "{oops" },
      { "detail-type": "EditRequested", detail: { action: "restore", target: { id }, version: 1 } },
    ]);
    const tooMany = await send(
      stack.url,
      "POST",
      LOCAL_EVENTS_PATH,
      Array.from({ length: 11 }, () => ({ DetailType: "EditRequested", Detail: "{}" })),
    );

    // Assess
    expect(unauthorized.statusCode).toBe(401);
    expect(mixed).toMatchObject({
      status: 200,
      body: {
        FailedEntryCount: 1,
        Entries: [
          { matched: false },
          { ErrorCode: "MalformedDetail" },
          // Restoring version 1 onto version 1: nothing to change, the record as it is (or a refusal).
          { matched: true, result: { status: expect.any(Number) } },
        ],
      },
    });
    expect(tooMany.status).toBe(400);
  });
});
