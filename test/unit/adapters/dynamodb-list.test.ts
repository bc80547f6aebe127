import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  type BatchGetCommandInput,
  DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { headItem } from "../../../functions/adapters/dynamodb/items.ts";
import { DynamoStore, MAX_EXAMINED_PER_PAGE } from "../../../functions/adapters/dynamodb/store.ts";
import { KeyQueryTooBroadError } from "../../../functions/core/store.ts";
import { c2cHead } from "../../helpers/heads.ts";

const documents = mockClient(DynamoDBDocumentClient);
afterEach(() => documents.reset());

/** One conversation of `size` heads, newest first, as the table holds them (with their index keys). */
function conversation(size: number, senderOf: (i: number) => string) {
  return Array.from({ length: size }, (_, i) => {
    const id = `c2c_${String(size - i).padStart(26, "a")}`;
    const createdAt = new Date(Date.UTC(2026, 0, 1) + (size - i) * 1000).toISOString();
    return headItem(
      c2cHead({ MsgBody: [] }, { id, sender: senderOf(i), createdAt, lookupKey: `c2c|${i}` }),
      {},
    ) as Record<string, string> & { pk: string; ts: string; cv: string; sender: string };
  });
}

/**
 * DynamoDB's Query on one index partition, as documented: `Limit` bounds the items examined, the filter
 * applies after it, `ScannedCount` counts what was examined, `LastEvaluatedKey` is the last examined key;
 * the index returns keys and the projected `sender` only. BatchGetItem answers from the table.
 */
function serve(items: ReturnType<typeof conversation>, options: { unprocessedOnce?: boolean } = {}) {
  let examined = 0;
  documents.on(QueryCommand).callsFake((input: QueryCommandInput) => {
    const after = input.ExclusiveStartKey?.ts;
    const from = after === undefined ? 0 : items.findIndex((item) => item.ts === after) + 1;
    const slice = items.slice(from, from + (input.Limit ?? items.length));
    examined += slice.length;
    const values = input.ExpressionAttributeValues ?? {};
    const filter = input.FilterExpression;
    const sender = filter === undefined ? undefined : Object.values(values).at(-1);
    const last = slice.at(-1);
    return {
      Items: slice
        .filter((item) => sender === undefined || item.sender === sender)
        .map(({ pk, sk, cv, ts, sender }) => ({ pk, sk, cv, ts, sender })),
      ScannedCount: slice.length,
      ...(last && from + slice.length < items.length
        ? { LastEvaluatedKey: { pk: last.pk, sk: last.sk, cv: last.cv, ts: last.ts } }
        : {}),
    };
  });
  const byPk = new Map(items.map((item) => [item.pk, item]));
  let unprocessed = options.unprocessedOnce ?? false;
  documents.on(BatchGetCommand).callsFake((input: BatchGetCommandInput) => {
    const [[table, request]] = Object.entries(input.RequestItems ?? {}) as [
      [string, { Keys: { pk: string }[] }],
    ];
    const keys = [...request.Keys].reverse(); // DynamoDB answers in no particular order
    const held = unprocessed ? keys.splice(0, 1) : [];
    unprocessed = false;
    return {
      Responses: { [table]: keys.map((key) => byPk.get(key.pk)).filter((item) => item !== undefined) },
      ...(held.length > 0 ? { UnprocessedKeys: { [table]: { Keys: held } } } : {}),
    };
  });
  return { examined: () => examined };
}

const store = () =>
  new DynamoStore(DynamoDBDocumentClient.from(new DynamoDBClient({ region: "local" })), "t");
const query = (sender: string, limit: number, nextToken?: string) => ({
  provider: "tencent" as const,
  appId: "1400000000",
  conversation: "c2c:a:b",
  sender,
  limit,
  ...(nextToken !== undefined ? { nextToken } : {}),
});

describe("DynamoStore.list with a sender filter on a conversation", () => {
  it("examines a bounded number of entries per request and returns a nextToken to go on", async () => {
    // Prepare: 10 000 messages by bob, one by alice near the end
    const items = conversation(10_000, (i) => (i === 9_000 ? "alice" : "bob"));
    const reads = serve(items);
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
    expect(found).toEqual([items[9_000]?.pk.slice(2)]);
    expect(requests).toBe(Math.ceil(10_000 / MAX_EXAMINED_PER_PAGE));
  });

  it("pages through every match exactly once when a page fills in the middle of a read", async () => {
    const items = conversation(700, (i) => (i % 3 === 0 ? "carol" : "dave"));
    serve(items);
    const expected = items.filter((item) => item.sender === "carol").map((item) => item.pk.slice(2));
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

  it("reads an unfiltered page with one query of the page's size and one BatchGetItem, in page order", async () => {
    const items = conversation(500, () => "erin");
    serve(items);
    const { sender: _, ...unfiltered } = query("x", 25);
    const page = await store().list(unfiltered);
    expect(page.items.map((head) => head.id)).toEqual(items.slice(0, 25).map((item) => item.pk.slice(2)));
    expect(documents.commandCalls(QueryCommand).map((call) => call.args[0].input.Limit)).toEqual([25]);
    const batches = documents.commandCalls(BatchGetCommand);
    expect(batches).toHaveLength(1);
    expect(batches[0]?.args[0].input.RequestItems?.t?.ConsistentRead).toBe(true);
  });

  it("retries the keys BatchGetItem left unprocessed", async () => {
    const items = conversation(30, () => "erin");
    serve(items, { unprocessedOnce: true });
    const { sender: _, ...unfiltered } = query("x", 10);
    const page = await store().list(unfiltered);
    expect(page.items.map((head) => head.id)).toEqual(items.slice(0, 10).map((item) => item.pk.slice(2)));
    expect(documents.commandCalls(BatchGetCommand)).toHaveLength(2);
  });
});

describe("DynamoStore.findByKey", () => {
  const key = { provider: "tencent" as const, appId: "1400000000", lookupKey: "c2c|1_2_3" };

  it("refuses a partial key without a sender or send-time bounds", async () => {
    await expect(store().findByKey(key)).rejects.toThrow(KeyQueryTooBroadError);
  });

  it("refuses a sender alone whose shard holds more than one bounded read", async () => {
    serve(conversation(MAX_EXAMINED_PER_PAGE + 1, () => "bob"));
    await expect(store().findByKey({ ...key, sender: "bob" })).rejects.toThrow(KeyQueryTooBroadError);
  });

  it("reads the sender's shard only when the sender is known, all 16 otherwise", async () => {
    serve([]);
    const between = ["2026-01-01T00:00:00.000Z", "2026-01-01T00:00:01.000Z"] as const;
    await store().findByKey({ ...key, sender: "bob", sentBetween: between });
    expect(documents.commandCalls(QueryCommand)).toHaveLength(1);
    documents.resetHistory();
    await store().findByKey({ ...key, sentBetween: between });
    expect(documents.commandCalls(QueryCommand)).toHaveLength(16);
  });
});
