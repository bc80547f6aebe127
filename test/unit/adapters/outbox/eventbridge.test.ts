import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createEventBridgeOutbox } from "../../../../functions/adapters/outbox/eventbridge.ts";
import { type DomainEvent, EventsNotDelivered, guardedOutbox } from "../../../../functions/core/outbox.ts";
import {
  entrySize,
  type FakeEventBridge,
  fakeClientConfig,
  startFakeEventBridge,
} from "../../../helpers/fake-eventbridge.ts";

const BUS = "im-edit-events";

const edited = (n: number, content?: Record<string, unknown>): DomainEvent => ({
  type: "MessageEdited",
  eventId: `MessageEdited/m${n}/2`,
  id: `m${n}`,
  provider: "tencent",
  appId: "1400000000",
  version: 2,
  at: "2026-01-01T00:00:00.000Z",
  source: "auto",
  ruleId: "redact-phone",
  jobId: "job-1",
  ...(content ? { content } : {}),
});

const failed: DomainEvent = {
  type: "EditFailed",
  eventId: "EditFailed/m9/1/intent-1",
  id: "m9",
  provider: "tencent",
  appId: "1400000000",
  version: 1,
  at: "2026-01-01T00:00:00.000Z",
  source: "api",
  reason: "not_editable",
  providerCode: 20001,
};

/** A text element of about `bytes` bytes. */
const bigContent = (bytes: number) => ({
  MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: "x".repeat(bytes) } }],
});

describe("EventBridgeOutbox against a loopback PutEvents endpoint", () => {
  let fake: FakeEventBridge;
  const outbox = (includeContent = false) =>
    createEventBridgeOutbox("us-east-1", BUS, { includeContent, client: fakeClientConfig(fake.url) });

  beforeAll(async () => {
    fake = await startFakeEventBridge();
  });
  afterEach(() => {
    fake.requests.length = 0;
    fake.accepted.length = 0;
    fake.failWith = () => undefined;
    fake.delayMs = 0;
  });
  afterAll(async () => {
    await fake.close();
  });

  it("puts one entry per event: source im-edit, the type as DetailType, the event as Detail, on the bus", async () => {
    // Prepare
    const events = [edited(1), failed];

    // Act
    await outbox().publish(events);

    // Assess
    expect(fake.requests).toHaveLength(1);
    expect(fake.accepted).toEqual([
      {
        EventBusName: BUS,
        Source: "im-edit",
        DetailType: "MessageEdited",
        Detail: JSON.stringify(edited(1)),
      },
      { EventBusName: BUS, Source: "im-edit", DetailType: "EditFailed", Detail: JSON.stringify(failed) },
    ]);
    expect(JSON.parse(fake.accepted[0]?.Detail ?? "")).toMatchObject({
      id: "m1",
      version: 2,
      source: "auto",
      ruleId: "redact-phone",
      jobId: "job-1",
    });
    expect(JSON.parse(fake.accepted[1]?.Detail ?? "")).toMatchObject({ providerCode: 20001 });
  });

  it("batches at most 10 entries per request, in order", async () => {
    // Prepare
    const events = Array.from({ length: 23 }, (_, n) => edited(n));

    // Act
    await outbox().publish(events);

    // Assess
    expect(fake.requests.map((entries) => entries.length)).toEqual([10, 10, 3]);
    expect(fake.accepted.map((entry) => JSON.parse(entry.Detail ?? "").id)).toEqual(events.map((e) => e.id));
  });

  it("content stays out unless opted in; opted in, requests stay within 256 KB", async () => {
    // Prepare: 10 events of ~60 KB each would be ~600 KB in one request.
    const events = Array.from({ length: 10 }, (_, n) => edited(n, bigContent(60_000)));

    // Act
    await outbox(false).publish(events.slice(0, 2));
    const without = fake.accepted.splice(0);
    fake.requests.length = 0;
    await outbox(true).publish(events);

    // Assess
    expect(without.map((entry) => JSON.parse(entry.Detail ?? "").content)).toEqual([undefined, undefined]);
    expect(fake.accepted).toHaveLength(10);
    expect(JSON.parse(fake.accepted[0]?.Detail ?? "").content).toEqual(bigContent(60_000));
    expect(fake.requests.length).toBeGreaterThanOrEqual(3);
    for (const entries of fake.requests) {
      const bytes = entries.reduce((sum, entry) => sum + entrySize(entry), 0);
      expect(bytes).toBeLessThanOrEqual(256 * 1024);
    }
  });

  it("an event whose content alone would pass 256 KB goes without it, marked", async () => {
    // Act
    await outbox(true).publish([edited(1, bigContent(300_000))]);

    // Assess
    const detail = JSON.parse(fake.accepted[0]?.Detail ?? "");
    expect(detail.content).toBeUndefined();
    expect(detail).toMatchObject({ id: "m1", version: 2, contentOmitted: "too_large" });
  });

  it("a partial failure (FailedEntryCount) sends the failed entries once more, and only them", async () => {
    // Prepare: entries m2 and m5 are throttled the first time they arrive.
    const seen = new Set<string>();
    fake.failWith = (entry) => {
      const id = JSON.parse(entry.Detail ?? "").id as string;
      if ((id === "m2" || id === "m5") && !seen.has(id)) {
        seen.add(id);
        return "ThrottlingException";
      }
      return undefined;
    };
    const events = Array.from({ length: 7 }, (_, n) => edited(n));

    // Act
    await outbox().publish(events);

    // Assess
    expect(fake.requests.map((entries) => entries.length)).toEqual([7, 2]);
    expect(fake.requests[1]?.map((entry) => JSON.parse(entry.Detail ?? "").id)).toEqual(["m2", "m5"]);
    expect(fake.accepted.map((entry) => JSON.parse(entry.Detail ?? "").id).sort()).toEqual(
      events.map((e) => e.id).sort(),
    );
  });

  it("entries failing twice reject with EventsNotDelivered naming only them; guarded, only they are reported", async () => {
    // Prepare
    fake.failWith = (entry) => (JSON.parse(entry.Detail ?? "").id === "m3" ? "InternalFailure" : undefined);
    const events = Array.from({ length: 5 }, (_, n) => edited(n));
    const reported: string[][] = [];

    // Act
    const error = await outbox()
      .publish(events)
      .catch((thrown: unknown) => thrown);
    await guardedOutbox(outbox(), (_, lost) => reported.push(lost.map((e) => e.id))).publish(events);

    // Assess
    expect(error).toBeInstanceOf(EventsNotDelivered);
    expect((error as EventsNotDelivered).events.map((e) => e.id)).toEqual(["m3"]);
    expect((error as Error).message).toBe("EventBridge did not take 1 of 5 events (InternalFailure)");
    // Each publish: the batch, then m3 once more.
    expect(fake.requests.map((entries) => entries.length)).toEqual([5, 1, 5, 1]);
    expect(reported).toEqual([["m3"]]);
  });

  it("an endpoint that does not answer in time fails the whole batch, quickly", async () => {
    // Prepare
    fake.delayMs = 1_000;
    const slow = createEventBridgeOutbox("us-east-1", BUS, {
      requestTimeoutMs: 100,
      client: { ...fakeClientConfig(fake.url), maxAttempts: 1 },
    });
    const started = Date.now();

    // Act
    const error = await slow.publish([edited(1), edited(2)]).catch((thrown: unknown) => thrown);

    // Assess
    expect(error).toBeInstanceOf(EventsNotDelivered);
    expect((error as EventsNotDelivered).events).toHaveLength(2);
    // One request, one retry of its failed entries: two timeouts.
    expect(Date.now() - started).toBeLessThan(900);
  });
});
