import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type { SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DirectoryDeadLetters } from "../../../functions/adapters/dead-letters/directory.ts";
import { handler as editor } from "../../../functions/editor.ts";
import { handler as recorder } from "../../../functions/recorder.ts";
import { lambdaContext } from "../../../local/server.ts";
import type { LocalStack } from "../../../local/stack.ts";
import { fixture } from "../../helpers/fixtures.ts";
import { sqsEvent as batchOf } from "../../helpers/sqs-event.ts";
import { api, startTestStack } from "../../helpers/stack.ts";
import { APP_ID, callbackRequest, tencentProvider } from "../../helpers/tencent.ts";
import { tencentApp } from "../../helpers/tencent-app.ts";

const sqsEvent = (...bodies: string[]): SQSEvent =>
  batchOf(bodies, { arn: "arn:aws:sqs:local:000000000000:q", region: "local" });

describe("queue consumers (SQS events through the real handlers)", () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({ tencentSimulator: true });
  });
  afterAll(async () => {
    await stack.close();
  });

  const deadLetters = async () =>
    (await new DirectoryDeadLetters(join(stack.config.dataDir ?? "", "dead-letters")).list()).letters;

  it("the recorder drains spooled callbacks; the bad message goes to the dead letters with its reason", async () => {
    // Prepare
    const msgKey = `8_8_${randomUUID()}`;
    const events = tencentProvider().interpret(
      callbackRequest({ ...fixture("tencent", "c2c-after-send"), MsgKey: msgKey }),
    );
    const spooled = JSON.stringify({
      provider: "tencent",
      receivedAt: new Date().toISOString(),
      events,
      reason: "test",
    });
    // Act
    const result = await recorder(sqsEvent(spooled, "{not json", spooled), lambdaContext("recorder"));
    // Assess
    expect(result).toEqual({ batchItemFailures: [] });
    expect(await deadLetters()).toContainEqual(
      expect.objectContaining({
        body: "{not json",
        reason: {
          code: "not_json",
          message: expect.any(String),
          receiveCount: 1,
          source: "arn:aws:sqs:local:000000000000:q",
        },
      }),
    );
    const record = await api(stack.url, `/v1/messages?provider=tencent&appId=${APP_ID}&msgKey=${msgKey}`);
    expect(record.body).toMatchObject({ state: "sent", version: 1 });
  });

  it("the editor applies queued edits, retries the retryable and dead-letters the permanently refused", async () => {
    const app = tencentApp(stack);
    const msgKey = await app.sendC2C("queue-a", "queue-b", "queued");
    const id = (
      (await api(stack.url, `/v1/messages?provider=tencent&appId=${APP_ID}&msgKey=${msgKey}`)).body as {
        id: string;
      }
    ).id;
    const edit = (text: string) =>
      JSON.stringify({ action: "edit", target: { id }, body: { text }, actor: "rule:42" });
    stack.tencent?.inject({ api: "modify_c2c_msg", kind: "error", code: 70009 }); // our credentials refused: 502
    const result = await editor(
      sqsEvent(
        edit("edited from the queue"),
        JSON.stringify({
          action: "edit",
          target: { id: "c2c_aaaaaaaaaaaaaaaaaaaaaaaaaa" },
          body: { text: "x" },
        }),
        edit("second"),
      ),
      lambdaContext("editor"),
    );
    // The first edit met the injected 502 (retryable for a queue: configuration can be fixed), the unknown id
    // is dead-lettered with the reason.
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: "m0" }] });
    expect(await deadLetters()).toContainEqual(
      expect.objectContaining({
        reason: expect.objectContaining({ code: "not_found", status: 404, receiveCount: 1 }),
      }),
    );
    const record = (await api(stack.url, `/v1/messages/${id}`)).body as { version: number; content: unknown };
    expect(record).toMatchObject({ version: 2, content: { MsgBody: [{ MsgContent: { Text: "second" } }] } });
    const history = (await api(stack.url, `/v1/messages/${id}/versions`)).body as {
      items: { actor?: string }[];
    };
    expect(history.items[1]?.actor).toBe("rule:42");
  });

  it("the editor resolves an edit on request (the delayed task of an unknown outcome)", async () => {
    const result = await editor(
      sqsEvent(JSON.stringify({ action: "resolve", target: { id: "c2c_aaaaaaaaaaaaaaaaaaaaaaaaaa" } })),
      lambdaContext("editor"),
    );
    expect(result).toEqual({ batchItemFailures: [] });
  });
});
