import type { MessageHead, Version } from "../../core/model.ts";
import type { Page, PageRequest } from "../../core/store.ts";
import { isConditionFailure } from "./calls.ts";
import type { StoreContext } from "./context.ts";
import { Expression } from "./expressions.ts";
import {
  firstFromItem,
  fromAttributeValues,
  headFromItem,
  headItem,
  isHeadItem,
  storedFirst,
  versionFromItem,
  versionItem,
} from "./items.ts";
import { HEAD_SK, messagePk, TABLE, VERSIONS_END, versionSk } from "./table.ts";
import { startKey, tokenFrom } from "./tokens.ts";

type Item = Record<string, unknown>;

/**
 * Heads and versions (layout v2, table.ts); every head written carries the index keys of the listings kept
 * (StoreContext.listings) and no others. Calls: getHead 1 GetItem; createHead 1 PutItem (a duplicate
 * too: the refused put returns the item there; 2 on emulators that do not return it); putHead,
 * putVersion, replaceVersion 1 each; versions 1 Query (version 1 from the head in the same read).
 */
export class DynamoMessages {
  constructor(private readonly context: StoreContext) {}

  async getHead(id: string): Promise<MessageHead | undefined> {
    const item = await this.context.calls.get("getHead", {
      Key: headKey(id),
      ConsistentRead: true,
    });
    return item && !this.context.expired(item) ? headFromItem(item) : undefined;
  }

  async createHead(head: MessageHead): Promise<MessageHead | undefined> {
    const expression = new Expression();
    const condition = this.context.absent(expression);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.context.calls.putOrThrow("createHead", {
          Item: headItem(head, this.context.expiry(head.createdAt), this.context.listings),
          ConditionExpression: condition,
          ...expression.attributes(),
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        });
        return undefined;
      } catch (error: unknown) {
        if (!isConditionFailure(error)) throw error;
        const old = (error as { Item?: Parameters<typeof fromAttributeValues>[0] }).Item;
        // DynamoDB returns the item that is there; an emulator without that feature needs a read.
        const existing = old ? headFromItem(fromAttributeValues(old)) : await this.getHead(head.id);
        if (existing) return existing;
        // Deleted (or expired) between the two calls: create it after all.
      }
    }
    throw new Error(`createHead: ${head.id} neither created nor readable`);
  }

  async putHead(head: MessageHead, expectedRev: number | undefined): Promise<boolean> {
    const expression = new Expression();
    const condition =
      expectedRev === undefined
        ? this.context.absent(expression)
        : `${expression.path("rev")} = ${expression.value(expectedRev)}`;
    return this.context.calls.put("putHead", {
      Item: headItem(head, this.context.expiry(head.createdAt), this.context.listings),
      ConditionExpression: condition,
      ...expression.attributes(),
    });
  }

  async putVersion(id: string, version: Version): Promise<boolean> {
    if (version.version < 2 || !Number.isInteger(version.version)) {
      throw new Error(`putVersion: version ${version.version} of ${id}: version 1 is written with the head`);
    }
    const expression = new Expression();
    return this.context.calls.put("putVersion", {
      Item: versionItem(id, version, this.context.expiry(version.at)),
      ConditionExpression: this.context.absent(expression),
      ...expression.attributes(),
    });
  }

  async getVersion(id: string, version: number): Promise<Version | undefined> {
    if (version === 1) return (await this.getHead(id))?.first;
    if (version < 1 || !Number.isInteger(version)) return undefined;
    const item = await this.context.calls.get("getVersion", {
      Key: { [TABLE.partitionKey]: messagePk(id), [TABLE.sortKey]: versionSk(version) },
      ConsistentRead: true,
    });
    return item && !this.context.expired(item) ? versionFromItem(item) : undefined;
  }

  async replaceVersion(id: string, version: Version): Promise<boolean> {
    const expression = new Expression();
    if (version.version === 1) {
      // Written whole (not compacted: no head at hand to compact against); rare (stale mark, purge).
      const first = expression.path("first");
      const rev = expression.path("rev");
      const output = await this.context.calls.update("replaceVersion", {
        Key: headKey(id),
        UpdateExpression: `SET ${first} = ${expression.value(storedFirst(version))}, ${rev} = ${rev} + ${expression.value(1)}`,
        ConditionExpression: `${this.context.present(expression)} AND attribute_exists(${first})`,
        ...expression.attributes(),
      });
      return output !== undefined;
    }
    return this.context.calls.put("replaceVersion", {
      Item: versionItem(id, version, this.context.expiry(version.at)),
      ConditionExpression: this.context.present(expression),
      ...expression.attributes(),
    });
  }

  async recentVersions(id: string, limit: number): Promise<Version[]> {
    const { Items } = await this.context.calls.query("recentVersions", {
      ...versionsQuery(id),
      ScanIndexForward: false,
      Limit: limit,
      ConsistentRead: true,
    });
    return this.versions(Items ?? []);
  }

  async listVersions(id: string, page: PageRequest): Promise<Page<Version>> {
    const result = await this.context.calls.query("listVersions", {
      ...versionsQuery(id),
      ScanIndexForward: true,
      Limit: page.limit,
      ConsistentRead: true,
      ...startKey(page.nextToken, TABLE.partitionKey, messagePk(id), {
        attribute: TABLE.sortKey,
        lo: HEAD_SK,
        hi: VERSIONS_END,
      }),
    });
    return { items: this.versions(result.Items ?? []), ...tokenFrom(result.LastEvaluatedKey) };
  }

  /** Version items as versions, the head as its version 1 (none before anything was delivered). */
  private versions(items: readonly Item[]): Version[] {
    const versions: Version[] = [];
    for (const item of items) {
      if (this.context.expired(item)) continue;
      const version = isHeadItem(item) ? firstFromItem(item) : versionFromItem(item);
      if (version) versions.push(version);
    }
    return versions;
  }
}

export const headKey = (id: string): Record<string, string> => ({
  [TABLE.partitionKey]: messagePk(id),
  [TABLE.sortKey]: HEAD_SK,
});

/** The head and every version of one message, in one key range. */
function versionsQuery(id: string) {
  return {
    KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :head AND :end",
    ExpressionAttributeNames: { "#pk": TABLE.partitionKey, "#sk": TABLE.sortKey },
    ExpressionAttributeValues: { ":pk": messagePk(id), ":head": HEAD_SK, ":end": VERSIONS_END },
  };
}
