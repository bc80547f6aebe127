import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { CreateTableCommand } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../functions/adapters/dynamodb/client.ts";
import { DynamoStore } from "../../../functions/adapters/dynamodb/store.ts";
import { createTableInput, HEAD_SK, messagePk } from "../../../functions/adapters/dynamodb/table.ts";
import type { Listing } from "../../../functions/core/listings.ts";
import { contentHash, type MessageHead, messageId } from "../../../functions/core/model.ts";
import { ensureTable, type LocalDynamo, startDynalite } from "../../../local/dynamo.ts";
import { reindex } from "../../../local/reindex.ts";
import { c2cHead } from "../../helpers/heads.ts";

const INDEX_KEYS = ["cv", "ts", "ap"];
const text = (value: string) => ({ MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: value } }] });

/** `npm run reindex` against dynalite: heads recorded while a listing was off get its keys, once. */
describe("npm run reindex", () => {
  let dynalite: LocalDynamo;
  let client: DynamoDBDocumentClient;

  beforeAll(async () => {
    dynalite = await startDynalite();
    client = createDocumentClient({ region: "local", endpoint: dynalite.endpoint });
  });
  afterAll(async () => {
    client?.destroy();
    await dynalite?.close();
  });

  /** A fresh table and `count` heads (each with a version 2) written by a store keeping `kept`. */
  async function recorded(kept: Listing[], count = 3) {
    const tableName = `t-${randomUUID()}`;
    await ensureTable(dynalite.endpoint, tableName);
    const store = new DynamoStore(client, tableName, { listings: new Set(kept) });
    const appId = randomUUID();
    const heads: MessageHead[] = [];
    for (let i = 0; i < count; i++) {
      const head = c2cHead(text(`m${i}`), {
        id: messageId("c2c", [appId, String(i)]),
        appId,
        sender: `s${i % 2}`,
        createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      });
      await store.createHead(head);
      const v2 = text(`m${i} edited`);
      await store.putVersion(head.id, {
        version: 2,
        content: v2,
        contentHash: contentHash(v2),
        source: "api",
        at: head.createdAt,
      });
      heads.push(head);
    }
    return { tableName, appId, heads, store };
  }
  const keysOf = async (tableName: string, id: string) => {
    const { Item = {} } = await client.send(
      new GetCommand({ TableName: tableName, Key: { pk: messagePk(id), sk: HEAD_SK } }),
    );
    return INDEX_KEYS.filter((name) => name in Item);
  };

  it("gives heads recorded with the listings off their keys; the listings then find them; a second run writes nothing", async () => {
    // Prepare: three heads without keys, one resolved provisional head, one past its retention
    const { tableName, appId, heads, store } = await recorded([]);
    const resolved = c2cHead(text("p"), {
      id: messageId("pgrp", [appId]),
      appId,
      resolvedId: heads[0]?.id ?? "",
    });
    await store.createHead(resolved);
    const expired = c2cHead(text("e"), { id: messageId("c2c", [appId, "expired"]), appId });
    await store.createHead(expired);
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: messagePk(expired.id), sk: HEAD_SK },
        UpdateExpression: "SET expiresAt = :past",
        ExpressionAttributeValues: { ":past": 1 },
      }),
    );
    const lines: string[] = [];

    // Act
    const first = await reindex(client, tableName, {
      listings: new Set(["conversation", "app"]),
      itemsPerSecond: 10_000,
      log: (line) => lines.push(line),
    });
    const second = await reindex(client, tableName, {
      listings: new Set(["conversation", "app"]),
      itemsPerSecond: 10_000,
    });

    // Assess
    expect(first).toMatchObject({ scanned: 8, heads: 5, updated: 3, indexed: 0, skipped: 2, changed: 0 });
    expect(second).toMatchObject({ heads: 5, updated: 0, indexed: 3, skipped: 2 });
    expect(lines.at(-1)).toBe(
      "reindexed: 3 heads given their index keys, 0 had them, 2 left out (resolved or expired), 0 changed meanwhile (left as written); 5 heads in 8 items scanned",
    );
    expect(await keysOf(tableName, resolved.id)).toEqual([]);
    const listing = new DynamoStore(client, tableName);
    const app = await listing.list({ provider: "tencent", appId, limit: 10 });
    expect(app.items.map((head) => head.id)).toEqual(heads.map((head) => head.id).reverse());
    const conversation = await listing.list({
      provider: "tencent",
      appId,
      conversation: "c2c:a:b",
      limit: 10,
    });
    expect(conversation.items).toHaveLength(3);
    // The heads are as they were: no revision bumped, nothing else touched.
    for (const head of heads) expect(await listing.getHead(head.id)).toEqual(head);
  });

  it("sets only the keys of the listings on that a head lacks", async () => {
    // Prepare
    const none = await recorded([], 1);
    const conversation = await recorded(["conversation"], 1);
    const id = (run: { heads: MessageHead[] }) => run.heads[0]?.id ?? "";

    // Act
    await reindex(client, none.tableName, { listings: new Set(["conversation"]), itemsPerSecond: 10_000 });
    const added = await reindex(client, conversation.tableName, {
      listings: new Set(["conversation", "app"]),
    });

    // Assess
    expect(await keysOf(none.tableName, id(none))).toEqual(["cv", "ts"]);
    expect(added.updated).toBe(1);
    expect(await keysOf(conversation.tableName, id(conversation))).toEqual(INDEX_KEYS);
  });

  it("leaves a head rewritten between its read and its write as its writer wrote it", async () => {
    // Prepare: a writer (keeping both listings) puts the head whole just before reindex's update lands.
    const { tableName, heads } = await recorded([], 1);
    const head = heads[0] as MessageHead;
    const writer = new DynamoStore(client, tableName);
    const racing = Object.create(client) as DynamoDBDocumentClient;
    racing.send = (async (command: unknown) => {
      if (command instanceof UpdateCommand) await writer.putHead({ ...head, rev: 2 }, 1);
      return client.send(command as never);
    }) as DynamoDBDocumentClient["send"];

    // Act
    const report = await reindex(racing, tableName, { listings: new Set(["conversation", "app"]) });

    // Assess
    expect(report).toMatchObject({ updated: 0, changed: 1 });
    expect((await writer.getHead(head.id))?.rev).toBe(2);
    expect(await keysOf(tableName, head.id)).toEqual(INDEX_KEYS);
  });

  it("reads at most the rate: pages wait until the items read fit into the time gone by", async () => {
    // Prepare: 6 items (3 heads, 3 versions), 2 a second, on a virtual clock
    const { tableName } = await recorded([], 3);
    let now = 0;
    const waits: number[] = [];

    // Act
    const report = await reindex(client, tableName, {
      listings: new Set(["app"]),
      itemsPerSecond: 2,
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
        now += ms;
      },
    });

    // Assess: pages of 2, each after the one before has had its second (a full last page has a next, empty)
    expect(report).toMatchObject({ scanned: 6, updated: 3 });
    expect(waits).toEqual([1000, 1000, 1000]);
  });

  it("refuses a table without the index of a listing on: deploy first", async () => {
    // Prepare
    const tableName = `bare-${randomUUID()}`;
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
        ],
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
      }),
    );

    // Act
    const run = reindex(client, tableName, { listings: new Set(["conversation"]) });

    // Assess
    await expect(run).rejects.toThrow(
      `table ${tableName} has no byConversation index: deploy with -c listings=conversation first`,
    );
    await expect(reindex(client, tableName, { listings: new Set() })).resolves.toMatchObject({ scanned: 0 });
    // Not told which listings: the table's own indexes say (none here), so nothing to index.
    await expect(reindex(client, tableName, {})).resolves.toMatchObject({ scanned: 0 });
  });

  it("not told the listings, indexes for those the table has an index of", async () => {
    // Prepare: a table deployed with -c listings=conversation, heads recorded with both listings off.
    const tableName = `conv-${randomUUID()}`;
    const input = createTableInput(tableName);
    await client.send(
      new CreateTableCommand({
        ...input,
        GlobalSecondaryIndexes: input.GlobalSecondaryIndexes.filter(
          (index) => index.IndexName === "byConversation",
        ),
      }),
    );
    const store = new DynamoStore(client, tableName, { listings: new Set() });
    const head = c2cHead(text("m"), { id: messageId("c2c", [randomUUID(), "1"]) });
    await store.createHead(head);

    // Act
    const report = await reindex(client, tableName, {});

    // Assess
    expect(report).toMatchObject({ heads: 1, updated: 1 });
    expect(await keysOf(tableName, head.id)).toEqual(["cv", "ts"]);
  });

  it("runs as npm run reindex, LISTINGS from the environment, and refuses a bad --listings naming it", async () => {
    // Prepare
    const { tableName, heads } = await recorded([], 2);
    const run = (...args: string[]) =>
      promisify(execFile)(
        "npx",
        ["tsx", "local/reindex.ts", "--endpoint", dynalite.endpoint, "--table", tableName, ...args],
        {
          env: { ...process.env, AWS_REGION: "local", LISTINGS: "conversation" },
        },
      );

    // Act
    const { stdout } = await run();
    const bad = await run("--listings", "sender").catch((error: { code: number; stderr: string }) => error);

    // Assess
    expect(stdout).toMatch(/^reindexing .* for LISTINGS=conversation, 200 items a second at most$/m);
    expect(stdout).toMatch(/^reindexed: 2 heads given their index keys, 0 had them/m);
    expect(await keysOf(tableName, heads[1]?.id ?? "")).toEqual(["cv", "ts"]);
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toMatch(
      /im-edit reindex: --listings: must be a comma list of conversation and app, or none, not "sender"/,
    );
  });
});
