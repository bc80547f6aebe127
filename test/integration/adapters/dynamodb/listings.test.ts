import { randomUUID } from "node:crypto";
import type { ConsumedCapacity } from "@aws-sdk/client-dynamodb";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { HEAD_SK, messagePk } from "../../../../functions/adapters/dynamodb/table.ts";
import type { Listing } from "../../../../functions/core/listings.ts";
import { type MessageHead, messageId } from "../../../../functions/core/model.ts";
import { STORE_TARGETS } from "../../../helpers/dynamo.ts";
import { shortTextHead } from "../../../helpers/dynamo-sample.ts";
import { useStore } from "../../../helpers/store.ts";

const INDEX_KEYS = ["cv", "ts", "ap"];

/**
 * LISTINGS on the DynamoDB adapter: every head it writes (create, replace, repair, migrate: createHead and
 * putHead) carries the index keys of the listings kept and no others, so a listing that is off costs no
 * write. The table keeps both indexes here, as a table whose listing is turned off later does until the
 * deploy drops it: what matters is what the items carry.
 */
describe.each(STORE_TARGETS)("DynamoStore with listings off, on $name", (target) => {
  const { storeWith, table } = useStore(target);
  const rawHead = async (id: string) => {
    const { client, tableName } = table();
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: { pk: messagePk(id), sk: HEAD_SK }, ConsistentRead: true }),
    );
    return Item as Record<string, unknown>;
  };
  const newHead = (): MessageHead => ({
    ...shortTextHead(),
    id: messageId("c2c", [randomUUID()]),
    appId: randomUUID(),
  });

  it.each([
    [[], []],
    [["conversation"], ["cv", "ts"]],
    [["app"], ["ts", "ap"]],
  ] as [Listing[], string[]][])(
    "with %j a head carries %j, whether created or put whole",
    async (kept, keys) => {
      // Prepare
      const store = storeWith({ listings: new Set(kept) });
      const created = newHead();
      const put = newHead();

      // Act
      await store.createHead(created);
      await store.putHead(put, undefined);
      await store.putHead({ ...put, rev: put.rev + 1 }, put.rev);

      // Assess
      for (const head of [created, put]) {
        const item = await rawHead(head.id);
        expect(INDEX_KEYS.filter((name) => name in item)).toEqual(keys);
      }
      expect(await store.getHead(created.id)).toEqual(created);
    },
  );

  it("a kept listing still lists what its store writes", async () => {
    const store = storeWith({ listings: new Set(["conversation"]) });
    const head = newHead();
    await store.createHead(head);
    const page = await store.list({
      provider: head.provider,
      appId: head.appId,
      conversation: head.conversation,
      limit: 5,
    });
    expect(page.items.map((item) => item.id)).toEqual([head.id]);
  });

  it("a recorded message costs 1 WRU with both listings off, 2 with one", async () => {
    // Prepare
    const consumed = (kept: Listing[]) => {
      const reports: ConsumedCapacity[] = [];
      const store = storeWith({
        listings: new Set(kept),
        onCapacity: (_operation, capacity) => reports.push(...capacity),
      });
      return { store, reports };
    };
    const none = consumed([]);
    const conversation = consumed(["conversation"]);

    // Act
    await none.store.createHead(newHead());
    await conversation.store.createHead(newHead());

    // Assess
    expect(none.reports.map((report) => report.CapacityUnits)).toEqual([1]);
    if (target.name !== "dynalite") {
      // DynamoDB Local reports the indexes apart (dynalite reports the table only).
      expect(none.reports[0]?.GlobalSecondaryIndexes).toBeUndefined();
      expect(conversation.reports.map((report) => report.CapacityUnits)).toEqual([2]);
      expect(conversation.reports[0]?.GlobalSecondaryIndexes).toEqual({
        byConversation: { CapacityUnits: 1 },
      });
    }
  });
});
