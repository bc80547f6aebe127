import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { fanOut } from "../../../../functions/adapters/outbox/fan-out.ts";
import { describeEventsUrl, eventsUrlOutbox } from "../../../../functions/adapters/outbox/http.ts";
import { InProcessOutbox } from "../../../../functions/adapters/outbox/in-process.ts";
import { type DomainEvent, EventsNotDelivered, type Outbox } from "../../../../functions/core/outbox.ts";

const CONTENT = (n: number) => ({
  MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: `secret ${n}` } }],
});

const recorded = (n: number): DomainEvent => ({
  type: "MessageRecorded",
  eventId: `MessageRecorded/m${n}/1`,
  id: `m${n}`,
  provider: "tencent",
  appId: "1400000000",
  version: 1,
  at: "2026-01-01T00:00:00.000Z",
  state: "sent",
  source: "callback",
  content: CONTENT(n),
});

/** The envelopes of the `n`th POST. */
const envelopes = (post: { body: unknown } | undefined) => (post?.body ?? []) as Record<string, unknown>[];

const NOW = () => new Date("2026-01-02T03:04:05.000Z");

describe("IM_EDIT_EVENTS_URL: a developer's loopback endpoint", () => {
  let server: Server;
  let url: string;
  const posts: { contentType: string | undefined; body: unknown }[] = [];
  let status = 200;
  let delayMs = 0;

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
      posts.push({
        contentType: req.headers["content-type"],
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
      });
      setTimeout(() => res.writeHead(status).end(), delayMs);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  });
  afterEach(() => {
    posts.length = 0;
    status = 200;
    delayMs = 0;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("POSTs each batch as a JSON array of EventBridge-like envelopes, without content", async () => {
    // Act
    await eventsUrlOutbox(url, { now: NOW }).publish([recorded(1), recorded(2)]);

    // Assess
    expect(posts).toHaveLength(1);
    expect(posts[0]?.contentType).toBe("application/json");
    const { content: _, ...detail } = recorded(1) as Extract<DomainEvent, { type: "MessageRecorded" }>;
    expect(envelopes(posts[0])[0]).toEqual({
      version: "0",
      id: "MessageRecorded/m1/1",
      source: "im-edit",
      "detail-type": "MessageRecorded",
      time: "2026-01-02T03:04:05.000Z",
      region: "local",
      resources: [],
      detail,
    });
    expect(JSON.stringify(posts)).not.toContain("secret");
  });

  it("with EVENTS_INCLUDE_CONTENT the detail carries the version's content", async () => {
    // Act
    await eventsUrlOutbox(url, { includeContent: true }).publish([recorded(1)]);

    // Assess
    expect(envelopes(posts[0])[0]?.detail).toMatchObject({ content: CONTENT(1) });
  });

  it("an endpoint that refuses or is too slow: EventsNotDelivered with the whole batch, the URL without secrets", async () => {
    // Prepare
    status = 500;
    const secretUrl = url.replace("http://", "http://user:pw@").concat("?token=abc");

    // Act
    const refused = await eventsUrlOutbox(secretUrl)
      .publish([recorded(1)])
      .catch((thrown: unknown) => thrown);
    status = 200;
    delayMs = 500;
    const started = Date.now();
    const slow = await eventsUrlOutbox(url, { timeoutMs: 50 })
      .publish([recorded(1), recorded(2)])
      .catch((thrown: unknown) => thrown);

    // Assess
    expect(refused).toBeInstanceOf(EventsNotDelivered);
    expect((refused as Error).message).toMatch(/answered 500/);
    expect((refused as Error).message).not.toMatch(/pw|token/);
    expect(slow).toBeInstanceOf(EventsNotDelivered);
    expect((slow as EventsNotDelivered).events).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(400);
  });

  it("an unreachable endpoint fails the publish, it does not throw past it unhandled", async () => {
    // Prepare: a port nothing listens on.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    // Act
    const error = await eventsUrlOutbox(`http://127.0.0.1:${port}/`)
      .publish([recorded(1)])
      .catch((thrown: unknown) => thrown);

    // Assess
    expect(error).toBeInstanceOf(EventsNotDelivered);
  });

  it("describes a URL for people: origin and path only", () => {
    expect(describeEventsUrl("https://u:p@example.test/hook?key=1#x")).toBe("https://example.test/hook");
    expect(describeEventsUrl("-")).toBe("stdout");
  });
});

describe("IM_EDIT_EVENTS_URL=-: printed", () => {
  it("one JSON line per event", async () => {
    // Prepare
    const lines: string[] = [];

    // Act
    await eventsUrlOutbox("-", { write: (line) => lines.push(line), now: NOW }).publish([
      recorded(1),
      recorded(2),
    ]);

    // Assess
    expect(lines).toHaveLength(2);
    expect(lines.every((line) => line.endsWith("\n") && !line.slice(0, -1).includes("\n"))).toBe(true);
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ id: "MessageRecorded/m1/1", "detail-type": "MessageRecorded" }),
      expect.objectContaining({ id: "MessageRecorded/m2/1", detail: expect.objectContaining({ id: "m2" }) }),
    ]);
    expect(lines.join("")).not.toContain("secret");
  });
});

describe("fanOut and the in-process outbox", () => {
  it("every sink gets the batch; a failing sink is named and only its undelivered events are lost", async () => {
    // Prepare
    const got: string[] = [];
    const partial: Outbox = {
      publish: async (events) => {
        throw new EventsNotDelivered("took all but the first", events.slice(0, 1));
      },
    };
    const outbox = fanOut([
      { name: "partial", outbox: partial },
      {
        name: "in-process",
        outbox: new InProcessOutbox([(batch) => void got.push(...batch.map((e) => e.id))]),
      },
    ]);

    // Act
    const error = await outbox.publish([recorded(1), recorded(2)]).catch((thrown: unknown) => thrown);

    // Assess
    expect(got).toEqual(["m1", "m2"]);
    expect(error).toBeInstanceOf(EventsNotDelivered);
    expect((error as Error).message).toBe("partial: took all but the first");
    expect((error as EventsNotDelivered).events.map((e) => e.id)).toEqual(["m1"]);
  });

  it("in-process subscribers see content only when opted in", async () => {
    // Prepare
    const without: DomainEvent[] = [];
    const withContent: DomainEvent[] = [];

    // Act
    await new InProcessOutbox([(batch) => void without.push(...batch)]).publish([recorded(1)]);
    await new InProcessOutbox([(batch) => void withContent.push(...batch)], { includeContent: true }).publish(
      [recorded(1)],
    );

    // Assess
    expect(without[0]).not.toHaveProperty("content");
    expect(withContent[0]).toHaveProperty("content");
  });
});
