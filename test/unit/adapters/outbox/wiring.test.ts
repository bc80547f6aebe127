import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { SqliteStore } from "../../../../functions/adapters/sqlite/store.ts";
import { createDependencies } from "../../../../functions/clients.ts";
import { loadConfig } from "../../../../functions/config.ts";
import { type DomainEvent, NO_OUTBOX } from "../../../../functions/core/outbox.ts";
import { type FakeEventBridge, startFakeEventBridge } from "../../../helpers/fake-eventbridge.ts";

const edited: DomainEvent = {
  type: "MessageEdited",
  eventId: "MessageEdited/m1/2",
  id: "m1",
  provider: "tencent",
  appId: "1400000000",
  version: 2,
  at: "2026-01-01T00:00:00.000Z",
  source: "api",
  content: { MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: "private words" } }] },
};

/** Delivery goes on after a publish over its budget: wait for it (bounded). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe("createDependencies: the outbox from EVENT_BUS_NAME, IM_EDIT_EVENTS_URL, EVENTS_INCLUDE_CONTENT", () => {
  let fake: FakeEventBridge;
  let collector: Server;
  let collectorUrl: string;
  const posted: unknown[] = [];
  const store = new SqliteStore({ path: ":memory:" });

  beforeAll(async () => {
    fake = await startFakeEventBridge();
    // The SDK's service-specific endpoint variable: the adapter's own client finds the fake.
    vi.stubEnv("AWS_ENDPOINT_URL_EVENTBRIDGE", fake.url);
    collector = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
      posted.push(...(JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown[]));
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await fake.close();
    collector.closeAllConnections();
    await new Promise((resolve) => collector.close(resolve));
    store.close();
  });

  const outboxFor = (env: Record<string, string>) =>
    createDependencies(
      loadConfig({ TABLE_NAME: "t", AWS_REGION: "us-east-1", TENCENT_SDKAPPID: "1400000000", ...env }),
      { store },
    ).outbox;

  it("no sink configured (and no DATA_DIR): events are off", () => {
    expect(outboxFor({})).toBe(NO_OUTBOX);
  });

  it("EVENT_BUS_NAME and IM_EDIT_EVENTS_URL: every event to both, ids only", async () => {
    // Act
    await outboxFor({ EVENT_BUS_NAME: "bus-1", IM_EDIT_EVENTS_URL: collectorUrl }).publish([edited]);
    await until(() => fake.accepted.length > 0 && posted.length > 0);

    // Assess
    expect(fake.accepted).toHaveLength(1);
    expect(fake.accepted[0]).toMatchObject({
      EventBusName: "bus-1",
      Source: "im-edit",
      DetailType: "MessageEdited",
    });
    expect(posted).toEqual([
      expect.objectContaining({ id: "MessageEdited/m1/2", "detail-type": "MessageEdited" }),
    ]);
    expect(JSON.stringify([fake.accepted, posted])).not.toContain("private words");
  });

  it("EVENTS_INCLUDE_CONTENT=true: the version's content rides along", async () => {
    // Prepare
    fake.accepted.length = 0;

    // Act
    await outboxFor({ EVENT_BUS_NAME: "bus-1", EVENTS_INCLUDE_CONTENT: "true" }).publish([edited]);
    await until(() => fake.accepted.length > 0);

    // Assess
    expect(JSON.parse(fake.accepted[0]?.Detail ?? "{}")).toMatchObject({ content: edited.content });
  });

  it("a bus that refuses: the publish still resolves (reported, never thrown at the caller)", async () => {
    // Prepare
    fake.failWith = () => "AccessDeniedException";

    // Act / Assess
    await expect(outboxFor({ EVENT_BUS_NAME: "bus-1" }).publish([edited])).resolves.toBeUndefined();
    fake.failWith = () => undefined;
  });
});
