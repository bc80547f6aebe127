import { randomInt, randomUUID } from "node:crypto";
import { type DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { TooManyRequestsError } from "../../core/errors.ts";
import {
  type Clock,
  type RateLimiter,
  type RateRule,
  type RateSlot,
  refusal,
  retryAfterSeconds,
  ServiceTime,
  slotWaitMs,
  systemClock,
} from "../../core/limiter.ts";
import { conditionally, guard } from "./calls.ts";
import { TABLE } from "./table.ts";

/**
 * The rate contract shared by every process (every warm Lambda, queued and API edits alike): a key's
 * R slots are R items `RATE#<key>` / `S#<i>` in the message table. Taking a slot is a conditional put
 * on a free one (free = absent or `freeAt` passed), so two processes never hold the same slot; while
 * its call is in flight a slot is held for `maxHoldMs` (a crashed caller's slot frees itself), and
 * its release keeps it one more window after the answer, as the provider may count it that late.
 *
 * Admission control: when every slot is taken and the earliest one is not expected back (with this
 * process's measured service time) inside the caller's budget, it is refused at once rather than after
 * polling the table for the whole budget. The queue of other processes is not visible here.
 */
export class DynamoRateLimiter implements RateLimiter {
  private readonly service = new Map<string, ServiceTime>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly rule: (key: string) => RateRule,
    private readonly clock: Clock = systemClock,
    private readonly maxHoldMs = 60_000,
  ) {}

  async acquire(key: string, maxWaitMs: number): Promise<RateSlot> {
    const { limit, windowMs } = this.rule(key);
    const deadline = this.clock.now() + maxWaitMs;
    const pk = `RATE#${key}`;
    for (;;) {
      const now = this.clock.now();
      const taken = await this.takenSlots(pk);
      const free = Array.from({ length: limit }, (_, i) => i).filter((i) => (taken.get(i) ?? 0) <= now);
      if (free.length > 0) {
        // A random free slot: concurrent callers rarely pick the same one, and a loser just looks again.
        const index = free[randomInt(free.length)] as number;
        const owner = randomUUID();
        if (await this.take(pk, index, owner, now)) {
          const service = this.serviceOf(key);
          return {
            release: () => {
              service.add(this.clock.now() - now);
              return this.release(pk, index, owner, windowMs);
            },
          };
        }
        continue;
      }
      const serviceMs = this.serviceOf(key).ms;
      // A slot item in flight says freeAt = taken + maxHoldMs: it really frees at taken + service + W.
      const views = Array.from({ length: limit }, (_, i) => taken.get(i) ?? now).map((freeAt) =>
        freeAt > now + windowMs
          ? { takenAt: freeAt - this.maxHoldMs, freeAt: Number.POSITIVE_INFINITY }
          : { takenAt: now, freeAt },
      );
      const expected = slotWaitMs(now, { limit, windowMs }, views, 0, serviceMs);
      if (expected + serviceMs > deadline - now)
        throw refusal(key, { limit, windowMs }, expected, deadline - now);
      // Only slots below the current limit count (items of a once higher limit linger until their TTL).
      const earliest = Math.min(...Array.from({ length: limit }, (_, i) => taken.get(i) ?? now));
      const wakeAt = Math.min(earliest, now + Math.max(5, Math.floor(windowMs / 20)));
      if (wakeAt > deadline || now >= deadline) {
        throw new TooManyRequestsError(
          `more than ${limit} calls in ${windowMs} ms to ${key}; try again later`,
          {
            retryAfter: retryAfterSeconds(earliest - now),
          },
        );
      }
      await this.clock.sleep(Math.max(1, wakeAt - now));
    }
  }

  private serviceOf(key: string): ServiceTime {
    let service = this.service.get(key);
    if (!service) {
      // Per-message keys come and go; what matters is the app-wide API keys' measure.
      if (this.service.size > 10_000) this.service.clear();
      service = new ServiceTime();
      this.service.set(key, service);
    }
    return service;
  }

  /** Slot index → the time it frees up, for every slot item of the key. */
  private async takenSlots(pk: string): Promise<Map<number, number>> {
    const taken = new Map<number, number>();
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await guard(
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: "pk = :pk",
            ExpressionAttributeValues: { ":pk": pk },
            ConsistentRead: true,
            ExclusiveStartKey: exclusiveStartKey,
          }),
        ),
      );
      for (const item of page.Items ?? []) taken.set(Number(String(item.sk).slice(2)), Number(item.freeAt));
      exclusiveStartKey = page.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return taken;
  }

  private take(pk: string, index: number, owner: string, now: number): Promise<boolean> {
    const freeAt = now + this.maxHoldMs;
    return conditionally(
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk,
            sk: `S#${index}`,
            owner,
            freeAt,
            [TABLE.ttlAttribute]: Math.ceil(freeAt / 1000) + 3_600,
          },
          ConditionExpression: "attribute_not_exists(pk) OR freeAt <= :now",
          ExpressionAttributeValues: { ":now": now },
        }),
      ),
    );
  }

  private async release(pk: string, index: number, owner: string, windowMs: number): Promise<void> {
    const freeAt = this.clock.now() + windowMs;
    // Not ours any more (held past maxHoldMs), or the store is down: either way the slot frees itself.
    await conditionally(
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk, sk: `S#${index}` },
          UpdateExpression: "SET freeAt = :freeAt, #ttl = :ttl",
          ConditionExpression: "#owner = :owner",
          ExpressionAttributeNames: { "#owner": "owner", "#ttl": TABLE.ttlAttribute },
          ExpressionAttributeValues: {
            ":freeAt": freeAt,
            ":owner": owner,
            ":ttl": Math.ceil(freeAt / 1000) + 3_600,
          },
        }),
      ),
    ).catch(() => false);
  }
}
