import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { DynamoMessageStore, MAX_EXAMINED_PER_PAGE } from "../../../functions/adapters/dynamodb/store.ts";

const documents = mockClient(DynamoDBDocumentClient);
afterEach(() => documents.reset());

const PARTITION = "tencent#1400000000#c2c:a:b";

/** One conversation of `size` heads, newest first, as the byConversation index holds them. */
function conversation(size: number, senderOf: (i: number) => string) {
  return Array.from({ length: size }, (_, i) => {
    const id = `c2c_${String(size - i).padStart(26, "a")}`;
    const createdAt = new Date(Date.UTC(2026, 0, 1) + (size - i) * 1000).toISOString();
    return {
      pk: `M#${id}`,
      sk: "H",
      convPk: PARTITION,
      convSk: `${createdAt}#${id}`,
      id,
      sender: senderOf(i),
      createdAt,
    };
  });
}

/**
 * DynamoDB's Query on one index partition, as documented: `Limit` bounds the items examined, the filter
 * applies after it, `ScannedCount` counts what was examined, `LastEvaluatedKey` is the last examined key.
 */
function servePartition(items: ReturnType<typeof conversation>) {
  let examined = 0;
  documents.on(QueryCommand).callsFake((input: QueryCommandInput) => {
    const after = input.ExclusiveStartKey?.convSk;
    const from = after === undefined ? 0 : items.findIndex((item) => item.convSk === after) + 1;
    const slice = items.slice(from, from + (input.Limit ?? items.length));
    examined += slice.length;
    const sender = input.ExpressionAttributeValues?.[":sender"];
    const last = slice.at(-1);
    return {
      Items: sender === undefined ? slice : slice.filter((item) => item.sender === sender),
      ScannedCount: slice.length,
      ...(last && from + slice.length < items.length
        ? { LastEvaluatedKey: { pk: last.pk, sk: last.sk, convPk: last.convPk, convSk: last.convSk } }
        : {}),
    };
  });
  return { examined: () => examined };
}

const store = () =>
  new DynamoMessageStore(DynamoDBDocumentClient.from(new DynamoDBClient({ region: "local" })), "t");
const query = (sender: string, limit: number, nextToken?: string) => ({
  provider: "tencent" as const,
  appId: "1400000000",
  conversation: "c2c:a:b",
  sender,
  limit,
  ...(nextToken !== undefined ? { nextToken } : {}),
});

describe("DynamoMessageStore.list with a sender filter on a conversation", () => {
  it("examines a bounded number of items per request and returns a nextToken to go on", async () => {
    // Prepare: 10 000 messages by bob, one by alice near the end
    const items = conversation(10_000, (i) => (i === 9_000 ? "alice" : "bob"));
    const reads = servePartition(items);
    // Act
    const first = await store().list(query("alice", 10));
    // Assess
    expect(reads.examined()).toBeLessThanOrEqual(MAX_EXAMINED_PER_PAGE);
    expect(first.items).toEqual([]);
    expect(first.nextToken).toEqual(expect.any(String));

    let token = first.nextToken;
    const found: string[] = [];
    let requests = 1;
    while (token !== undefined) {
      const before = reads.examined();
      const page = await store().list(query("alice", 10, token));
      requests++;
      expect(reads.examined() - before).toBeLessThanOrEqual(MAX_EXAMINED_PER_PAGE);
      found.push(...page.items.map((item) => item.id));
      token = page.nextToken;
    }
    expect(found).toEqual([items[9_000]?.id]);
    expect(requests).toBe(Math.ceil(10_000 / MAX_EXAMINED_PER_PAGE));
  });

  it("pages through every match exactly once when a page fills in the middle of a read", async () => {
    const items = conversation(700, (i) => (i % 3 === 0 ? "carol" : "dave"));
    servePartition(items);
    const expected = items.filter((item) => item.sender === "carol").map((item) => item.id);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await store().list(query("carol", 7, token));
      expect(page.items.length).toBeLessThanOrEqual(7);
      seen.push(...page.items.map((item) => item.id));
      token = page.nextToken;
    } while (token !== undefined);
    expect(seen).toEqual(expected);
  });

  it("reads an unfiltered conversation page with one query of the page's size", async () => {
    servePartition(conversation(500, () => "erin"));
    const { sender: _, ...unfiltered } = query("x", 25);
    const page = await store().list(unfiltered);
    expect(page.items).toHaveLength(25);
    expect(documents.commandCalls(QueryCommand).map((call) => call.args[0].input.Limit)).toEqual([25]);
  });
});
