import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DirectoryDeadLetters } from "../../../functions/adapters/dead-letters/directory.ts";
import type { DeadLetterPolicy } from "../../../functions/core/dead-letters.ts";
import { consumeQueue, handler as editor } from "../../../functions/editor.ts";
import { handler as recorder } from "../../../functions/recorder.ts";
import { LOCAL_QUEUE_PATH } from "../../../local/queue.ts";
import { lambdaContext } from "../../../local/server.ts";
import type { LocalStack } from "../../../local/stack.ts";
import { send } from "../../helpers/http.ts";
import { runLocalScript } from "../../helpers/local-script.ts";
import { sqsEvent as batchOf } from "../../helpers/sqs-event.ts";
import { API_TOKEN, api, startTestStack } from "../../helpers/stack.ts";
import { APP_ID } from "../../helpers/tencent.ts";
import { tencentApp } from "../../helpers/tencent-app.ts";

const EDIT_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:im-edit-EditQueue";

const sqsEvent = (bodies: readonly string[], receiveCount = 1): SQSEvent =>
  batchOf(bodies, { receiveCount, arn: EDIT_QUEUE_ARN });

describe("dead letters: queue consumers put poison messages aside with the reason (local stack)", () => {
  let stack: LocalStack;
  let letters: DirectoryDeadLetters;
  let dataDir: string;

  beforeAll(async () => {
    stack = await startTestStack({ tencentSimulator: true });
    dataDir = stack.config.dataDir ?? "";
    letters = new DirectoryDeadLetters(join(dataDir, "dead-letters"));
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(async () => {
    await rm(letters.directory, { recursive: true, force: true });
  });

  const listed = async () => (await letters.list()).letters;

  /** A sent C2C message's id (and its key, for a recall). */
  async function sentMessage(text = "hello"): Promise<{ id: string; msgKey: string }> {
    const msgKey = await tencentApp(stack).sendC2C("dl-a", "dl-b", text);
    const found = await api(stack.url, `/v1/messages?provider=tencent&appId=${APP_ID}&msgKey=${msgKey}`);
    return { id: (found.body as { id: string }).id, msgKey };
  }

  const edit = (id: string, text: string) =>
    JSON.stringify({ action: "edit", target: { id }, body: { text } });

  it("the editor: not JSON, 400, 404, 409 not_editable and a refused event are dead-lettered with their reason and acknowledged", async () => {
    // Prepare: a recalled message (not editable)
    const { id: recalledId, msgKey } = await sentMessage("to be recalled");
    await tencentApp(stack).recallC2C("dl-a", "dl-b", msgKey);
    for (let i = 0; i < 50; i++) {
      const record = await api(stack.url, `/v1/messages/${recalledId}`);
      if ((record.body as { state?: string }).state === "recalled") break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const { id } = await sentMessage();
    const bodies = [
      "{not json",
      JSON.stringify({ action: "edit", target: { id }, body: { text: 42 } }),
      edit("c2c_aaaaaaaaaaaaaaaaaaaaaaaaaa", "secret words"),
      edit(recalledId, "secret words"),
      JSON.stringify({
        version: "0",
        id: randomUUID(),
        source: "im-edit",
        "detail-type": "MessageEdited",
        detail: { target: { id }, body: { text: "secret words" } },
      }),
    ];

    // Act
    const result = (await editor(sqsEvent(bodies), lambdaContext("editor"))) as SQSBatchResponse;

    // Assess: all acknowledged, each kept with its body as it was and the reason
    expect(result).toEqual({ batchItemFailures: [] });
    const kept = await listed();
    expect(kept.map((letter) => letter.body)).toEqual(bodies);
    expect(
      kept.map(({ reason }) => [reason.code, reason.status, reason.receiveCount, reason.source]),
    ).toEqual([
      ["not_json", undefined, 1, EDIT_QUEUE_ARN],
      ["validation_failed", 400, 1, EDIT_QUEUE_ARN],
      ["not_found", 404, 1, EDIT_QUEUE_ARN],
      ["not_editable", 409, 1, EDIT_QUEUE_ARN],
      ["unsupported_event", 400, 1, EDIT_QUEUE_ARN],
    ]);
    expect(JSON.stringify(kept.map((letter) => letter.reason))).not.toContain("secret words");
    expect(((await api(stack.url, `/v1/messages/${id}`)).body as { version: number }).version).toBe(1);
  });

  it("a retryable failure goes back to the queue, and on its last receive to the dead letters with the reason", async () => {
    // Prepare
    const { id } = await sentMessage();
    const body = edit(id, "later");

    // Act: our credentials refused (502: worth retrying, configuration can be fixed), receive 4 then 5 of 5
    stack.tencent?.inject({ api: "modify_c2c_msg", kind: "error", code: 70009 });
    const early = (await editor(sqsEvent([body], 4), lambdaContext("editor"))) as SQSBatchResponse;
    const afterEarly = await listed();
    stack.tencent?.inject({ api: "modify_c2c_msg", kind: "error", code: 70009 });
    const last = (await editor(sqsEvent([body], 5), lambdaContext("editor"))) as SQSBatchResponse;

    // Assess
    expect(early.batchItemFailures).toEqual([{ itemIdentifier: "m0" }]);
    expect(afterEarly).toEqual([]);
    expect(last.batchItemFailures).toEqual([]);
    expect(await listed()).toEqual([
      expect.objectContaining({
        body,
        reason: expect.objectContaining({ status: 502, receiveCount: 5, source: EDIT_QUEUE_ARN }),
      }),
    ]);
  });

  it("a dead letter that cannot be put leaves the record on its queue (a batch item failure)", async () => {
    // Prepare
    const failing: DeadLetterPolicy = {
      letters: {
        put: async () => {
          throw new Error("SQS: AccessDenied");
        },
      },
      maxReceives: 5,
      source: "edit-queue",
    };

    // Act
    const result = await consumeQueue(
      sqsEvent(["{not json", edit("c2c_aaaaaaaaaaaaaaaaaaaaaaaaaa", "x")]),
      failing,
    );

    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: "m0" }, { itemIdentifier: "m1" }]);
  });

  it("the recorder's drain: a message that is no spooled callback is dead-lettered with the reason", async () => {
    const result = (await recorder(sqsEvent(['{"hello":1}']), lambdaContext("recorder"))) as SQSBatchResponse;
    expect(result).toEqual({ batchItemFailures: [] });
    expect((await listed()).map((letter) => [letter.body, letter.reason.code])).toEqual([
      ['{"hello":1}', "not_a_spooled_callback"],
    ]);
  });

  it("locally, queued in-process work that fails lands in the dead letters too (nothing redelivers it)", async () => {
    // Act
    await stack.deps.work.enqueue({ action: "unheardOf", target: { id: "c2c_x" } });
    for (let i = 0; i < 100 && (await listed()).length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }

    // Assess
    expect(await listed()).toEqual([
      expect.objectContaining({
        body: JSON.stringify({ action: "unheardOf", target: { id: "c2c_x" } }),
        reason: expect.objectContaining({ code: "unexpected", receiveCount: 1, source: "in-process" }),
      }),
    ]);
  });

  it("POST /_local/queue: one message delivered as the worker gets it, answering how it settled", async () => {
    // Prepare
    const { id } = await sentMessage();

    // Act
    const done = await send(stack.url, "POST", LOCAL_QUEUE_PATH, JSON.parse(edit(id, "via the local queue")));
    const refused = await send(
      stack.url,
      "POST",
      LOCAL_QUEUE_PATH,
      JSON.parse(edit("c2c_aaaaaaaaaaaaaaaaaaaaaaaaaa", "x")),
    );

    // Assess
    expect(done.body).toMatchObject({ outcome: "done" });
    expect(refused.body).toMatchObject({
      outcome: "dead-lettered",
      reason: { code: "not_found", status: 404 },
    });
    expect((await listed()).map((letter) => letter.reason.code)).toEqual(["not_found"]);
    expect(((await api(stack.url, `/v1/messages/${id}`)).body as { version: number }).version).toBe(2);
  });

  it("npm run redrive lists the letters with their reasons; --replay sends them back and removes what went through", async () => {
    // Prepare: one that exhausted its retries (the provider recovers), one refused for good, one not JSON
    const { id } = await sentMessage();
    stack.tencent?.inject({ api: "modify_c2c_msg", kind: "error", code: 70009 });
    await editor(sqsEvent([edit(id, "redriven")], 5), lambdaContext("editor"));
    await editor(sqsEvent([edit("c2c_aaaaaaaaaaaaaaaaaaaaaaaaaa", "x")]), lambdaContext("editor"));
    await editor(sqsEvent(["{not json"]), lambdaContext("editor"));
    const before = await listed();

    // Act
    const list = await redrive([]);
    const replay = await redrive(["--replay"]);
    const after = await listed();

    // Assess: the listing names each letter, its reason and what it asked for, never the text
    expect(list.code).toBe(0);
    for (const letter of before) expect(list.stdout).toContain(letter.name);
    expect(list.stdout).toMatch(/status 502\s+receive 5\s+from arn:aws:sqs:\S+\s+edit c2c_/);
    expect(list.stdout).toContain("not_found  status 404");
    expect(list.stdout).toContain("not_json");
    expect(list.stdout).toContain("3 dead letters");
    expect(list.stdout).not.toContain("redriven");
    // Replay: the recovered edit went through, the refused one was dead-lettered anew, the non-JSON kept
    expect(replay.stderr).toBe("");
    expect(replay.code).toBe(1);
    expect(replay.stdout).toContain("replayed 3: 1 went through, 1 dead-lettered again");
    expect(replay.stdout).toContain("1 kept");
    expect(after.map((letter) => letter.reason.code).sort()).toEqual(["not_found", "not_json"]);
    expect(after.find((letter) => letter.reason.code === "not_json")?.name).toBe(
      before.find((letter) => letter.reason.code === "not_json")?.name,
    );
    const record = (await api(stack.url, `/v1/messages/${id}`)).body as { version: number; content: unknown };
    expect(record).toMatchObject({
      version: 2,
      content: { MsgBody: [{ MsgContent: { Text: "redriven" } }] },
    });
  }, 30_000);

  /** `npm run redrive -- <args>` on this stack's DATA_DIR. */
  const redrive = (args: string[]) =>
    runLocalScript("local/redrive.ts", args, {
      DATA_DIR: dataDir,
      IM_EDIT_API_URL: stack.url,
      IM_EDIT_API_TOKEN: API_TOKEN,
    });
});
