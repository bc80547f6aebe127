import type { IdempotencyRecord, IdempotencyStore } from "../../core/store.ts";
import type { StoreContext } from "./context.ts";
import { Expression } from "./expressions.ts";
import { domainFields } from "./items.ts";
import { IDEMPOTENCY_PREFIX, IDEMPOTENCY_SK, idempotencyPk, TABLE } from "./table.ts";

/**
 * `Idempotency-Key` records: one item each (pk `IDEM#<key>`, the key is not stored again), the domain
 * result stored as-is, TTL at the record's expiry. One call per method.
 */
export class DynamoIdempotency implements IdempotencyStore {
  constructor(private readonly context: StoreContext) {}

  async claimIdempotencyKey(record: IdempotencyRecord, nowMs: number): Promise<boolean> {
    const { key, ...fields } = record;
    const e = new Expression();
    return this.context.calls.put("claimIdempotencyKey", {
      Item: {
        ...fields,
        ...recordKey(key),
        [TABLE.ttlAttribute]: ttlSeconds(record.expiresAtMs),
      },
      ConditionExpression: `attribute_not_exists(${e.path(TABLE.partitionKey)}) OR ${e.path("expiresAtMs")} <= ${e.value(nowMs)}`,
      ...e.attributes(),
    });
  }

  async getIdempotencyRecord(key: string, nowMs: number): Promise<IdempotencyRecord | undefined> {
    const item = await this.context.calls.get("getIdempotencyRecord", {
      Key: recordKey(key),
      ConsistentRead: true,
    });
    if (!item) return undefined;
    const record = {
      key: String(item[TABLE.partitionKey]).slice(IDEMPOTENCY_PREFIX.length),
      ...domainFields(item),
    } as unknown as IdempotencyRecord;
    return record.expiresAtMs > nowMs ? record : undefined;
  }

  async completeIdempotencyKey(
    key: string,
    requestHash: string,
    result: unknown,
    expiresAtMs: number,
  ): Promise<void> {
    // A key released or reclaimed meanwhile keeps its new owner's record.
    const e = new Expression();
    await this.context.calls.update("completeIdempotencyKey", {
      Key: recordKey(key),
      UpdateExpression: `SET ${[
        `${e.path("state")} = ${e.value("done")}`,
        `${e.path("expiresAtMs")} = ${e.value(expiresAtMs)}`,
        `${e.path(TABLE.ttlAttribute)} = ${e.value(ttlSeconds(expiresAtMs))}`,
        ...(result !== undefined ? [`${e.path("result")} = ${e.value(result)}`] : []),
      ].join(", ")}`,
      ConditionExpression: `${e.path("requestHash")} = ${e.value(requestHash)}`,
      ...e.attributes(),
    });
  }

  async releaseIdempotencyKey(key: string, requestHash: string): Promise<void> {
    const e = new Expression();
    await this.context.calls.delete("releaseIdempotencyKey", {
      Key: recordKey(key),
      ConditionExpression: `${e.path("requestHash")} = ${e.value(requestHash)}`,
      ...e.attributes(),
    });
  }

  async holdIdempotencyKey(key: string, requestHash: string, expiresAtMs: number): Promise<boolean> {
    const e = new Expression();
    const output = await this.context.calls.update("holdIdempotencyKey", {
      Key: recordKey(key),
      UpdateExpression: `SET ${e.path("expiresAtMs")} = ${e.value(expiresAtMs)}, ${e.path(TABLE.ttlAttribute)} = ${e.value(ttlSeconds(expiresAtMs))}`,
      ConditionExpression: `${e.path("requestHash")} = ${e.value(requestHash)} AND ${e.path("state")} = ${e.value("pending")}`,
      ...e.attributes(),
    });
    return output !== undefined;
  }

  async replaceIdempotencyResult(key: string, result: unknown): Promise<void> {
    const e = new Expression();
    await this.context.calls.update("replaceIdempotencyResult", {
      Key: recordKey(key),
      UpdateExpression: `SET ${e.path("result")} = ${e.value(result)}`,
      ConditionExpression: `attribute_exists(${e.path(TABLE.partitionKey)}) AND ${e.path("state")} = ${e.value("done")}`,
      ...e.attributes(),
    });
  }
}

const recordKey = (key: string): Record<string, string> => ({
  [TABLE.partitionKey]: idempotencyPk(key),
  [TABLE.sortKey]: IDEMPOTENCY_SK,
});

const ttlSeconds = (ms: number): number => Math.ceil(ms / 1000);
