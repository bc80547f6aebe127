import { randomUUID } from "node:crypto";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { InProcessOutbox } from "../../../functions/adapters/outbox/in-process.ts";
import { SqsOutbox } from "../../../functions/adapters/outbox/sqs.ts";
import { SqliteStore } from "../../../functions/adapters/sqlite/store.ts";
import { createDependencies } from "../../../functions/clients.ts";
import { loadConfig } from "../../../functions/config.ts";
import { DEFAULT_EDIT_OPTIONS } from "../../../functions/core/edit-settlement.ts";
import { EditService } from "../../../functions/core/edits.ts";
import { UnprocessableError } from "../../../functions/core/errors.ts";
import { type Content, messageId } from "../../../functions/core/model.ts";
import { type DomainEvent, guardedOutbox, NO_OUTBOX, type Outbox } from "../../../functions/core/outbox.ts";
import type { ProviderEditor } from "../../../functions/core/provider.ts";
import { MessageQueries } from "../../../functions/core/queries.ts";
import { manualClock } from "../../helpers/clock.ts";
import { c2cHead } from "../../helpers/heads.ts";
import { scriptedEditor } from "../../helpers/scripted-editor.ts";
import { tencentProvider } from "../../helpers/tencent.ts";

const sqs = mockClient(SQSClient);
afterEach(() => sqs.reset());

const editor = (modify?: (send: Content) => Promise<void>) => scriptedEditor(modify ? { modify } : {});

describe("EditService publishes: MessageEdited after a commit, EditFailed on a refusal", () => {
  let store: SqliteStore;
  beforeAll(() => {
    store = new SqliteStore({ path: ":memory:" });
  });
  afterAll(() => store.close());

  async function message() {
    const head = c2cHead({ CloudCustomData: "v1" }, { id: messageId("c2c", [randomUUID()]) });
    await store.putHead(head, undefined);
    return head;
  }

  const service = (providerEditor: ProviderEditor, outbox: Outbox) =>
    new EditService(
      store,
      new Map([["tencent", providerEditor]]),
      new MessageQueries(store, new Map([["tencent", tencentProvider()]])),
      { ...DEFAULT_EDIT_OPTIONS, clock: manualClock(), outbox },
    );

  it("an applied edit: one MessageEdited with version, source, actor; no content", async () => {
    const events: DomainEvent[] = [];
    const head = await message();

    await service(editor(), new InProcessOutbox([(batch) => void events.push(...batch)])).edit(
      head.id,
      { CloudCustomData: "secret v2" },
      { actor: "moderator" },
    );

    expect(events).toEqual([
      {
        type: "MessageEdited",
        eventId: `MessageEdited/${head.id}/2`,
        id: head.id,
        provider: "tencent",
        appId: head.appId,
        version: 2,
        source: "api",
        actor: "moderator",
        at: expect.any(String),
      },
    ]);
    expect(JSON.stringify(events)).not.toContain("secret");
  });

  it("a refused edit: EditFailed with the refusal's code and the version it started from", async () => {
    const events: DomainEvent[] = [];
    const head = await message();
    const refusing = editor(async () => {
      throw new UnprocessableError("dirty words", { code: "content_refused", providerCode: 80001 });
    });

    await expect(
      service(refusing, new InProcessOutbox([(batch) => void events.push(...batch)])).edit(
        head.id,
        { CloudCustomData: "v2" },
        { actor: "moderator" },
      ),
    ).rejects.toBeInstanceOf(UnprocessableError);

    expect(events).toEqual([
      expect.objectContaining({
        type: "EditFailed",
        id: head.id,
        version: 1,
        source: "api",
        actor: "moderator",
        reason: "content_refused",
        providerCode: 80001,
      }),
    ]);
  });

  it("an outbox that fails does not fail the edit", async () => {
    const head = await message();
    const failing: Outbox = {
      publish: async () => {
        throw new Error("queue down");
      },
    };

    const result = await service(editor(), failing).edit(head.id, { CloudCustomData: "v2" }, { actor: "t" });

    expect(result.head.version).toBe(2);
  });
});

describe("outbox adapters", () => {
  const event = (n: number): DomainEvent => ({
    type: "MessageRecorded",
    eventId: `MessageRecorded/m${n}/1`,
    id: `m${n}`,
    provider: "tencent",
    appId: "1",
    version: 1,
    at: "2026-01-01T00:00:00.000Z",
    state: "sent",
  });

  it("SQS: one message per event, in batches of 10, typed for filtering", async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const events = Array.from({ length: 12 }, (_, n) => event(n));

    await new SqsOutbox(new SQSClient({ region: "local" }), "https://sqs.local/events").publish(events);

    const calls = sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input);
    expect(calls.map((input) => input.Entries?.length)).toEqual([10, 2]);
    expect(calls[0]?.Entries?.[0]).toEqual({
      Id: "0",
      MessageBody: JSON.stringify(event(0)),
      MessageAttributes: { type: { DataType: "String", StringValue: "MessageRecorded" } },
    });
  });

  it("SQS: entries the queue did not take fail the publish; guarded, that is reported, never thrown", async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolves({ Failed: [{ Id: "0", Code: "InternalError", SenderFault: false }] });
    const reported: string[] = [];
    const outbox = new SqsOutbox(new SQSClient({ region: "local" }), "https://sqs.local/events");

    await expect(outbox.publish([event(1)])).rejects.toThrow(/did not take 1 of 1/);
    await guardedOutbox(outbox, (error, lost) => reported.push(`${error.message}:${lost.length}`)).publish([
      event(1),
    ]);

    expect(reported).toEqual(["SQS did not take 1 of 1 events (InternalError):1"]);
  });

  it("guarded with a budget: a publish that takes too long is reported and no longer waited for", async () => {
    const reported: string[] = [];
    const slow: Outbox = { publish: () => new Promise((resolve) => setTimeout(resolve, 500)) };
    const started = Date.now();

    await guardedOutbox(slow, (error) => reported.push(error.message), 20).publish([event(1)]);

    expect(Date.now() - started).toBeLessThan(300);
    expect(reported).toEqual(["publish did not finish within 20 ms"]);
  });

  it("in-process: every subscriber gets the batch; one that throws fails the publish, not the others", async () => {
    const got: string[] = [];
    const outbox = new InProcessOutbox([
      () => {
        throw new Error("bad subscriber");
      },
    ]);
    const unsubscribe = outbox.subscribe((batch) => void got.push(...batch.map((e) => e.id)));

    await expect(outbox.publish([event(1)])).rejects.toThrow("bad subscriber");
    unsubscribe();
    await expect(outbox.publish([event(2)])).rejects.toThrow("bad subscriber");

    expect(got).toEqual(["m1"]);
  });
});

describe("outbox wiring (createDependencies)", () => {
  const env = { TABLE_NAME: "t", AWS_REGION: "local", TENCENT_SDKAPPID: "1400000000" };

  it("events off by default: no outbox", () => {
    expect(createDependencies(loadConfig(env)).outbox).toBe(NO_OUTBOX);
  });

  it("EVENTS_QUEUE_URL: events to SQS, the SDK loaded on the first publish", async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Failed: [] });
    const { outbox } = createDependencies(
      loadConfig({ ...env, EVENTS_QUEUE_URL: "https://sqs.local/events" }),
    );

    await outbox.publish([
      {
        type: "MessageEdited",
        eventId: "MessageEdited/m/2",
        id: "m",
        provider: "tencent",
        appId: "1",
        version: 2,
        at: "2026-01-01T00:00:00.000Z",
        source: "api",
      },
    ]);

    expect(sqs.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.QueueUrl).toBe(
      "https://sqs.local/events",
    );
  });

  it("a failing SQS publish is swallowed (logged and counted as PublishFailed)", async () => {
    sqs.on(SendMessageBatchCommand).rejects(new Error("throttled"));
    const { outbox } = createDependencies(
      loadConfig({ ...env, EVENTS_QUEUE_URL: "https://sqs.local/events" }),
    );

    await expect(
      outbox.publish([
        {
          type: "MessageRecorded",
          eventId: "MessageRecorded/m/1",
          id: "m",
          provider: "tencent",
          appId: "1",
          version: 1,
          at: "2026-01-01T00:00:00.000Z",
          state: "sent",
        },
      ]),
    ).resolves.toBeUndefined();
  });
});
