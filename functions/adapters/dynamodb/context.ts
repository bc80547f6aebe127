import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { ALL_LISTINGS, type Listings } from "../../core/listings.ts";
import { type CapacityObserver, TableCalls } from "./calls.ts";
import type { Expression } from "./expressions.ts";
import { TABLE } from "./table.ts";

export interface DynamoStoreOptions {
  /** Optional retention: items get `expiresAt` = their own time + this many days (DynamoDB TTL). */
  readonly retentionDays?: number;
  readonly now?: () => Date;
  /**
   * Told the capacity every call consumed, table and indexes apart: set, every call asks DynamoDB for it
   * (`ReturnConsumedCapacity: INDEXES`). The bench measures write units per message with it.
   */
  readonly onCapacity?: CapacityObserver;
  /**
   * The listings kept (LISTINGS): heads carry the index keys of these only, so a listing that is off
   * costs no write. Default: every listing.
   */
  readonly listings?: Listings;
}

/** What the message, coordination and idempotency parts share: the calls, the clock, retention, listings. */
export class StoreContext {
  readonly calls: TableCalls;
  readonly now: () => Date;
  readonly listings: Listings;

  constructor(
    client: DynamoDBDocumentClient,
    tableName: string,
    private readonly options: DynamoStoreOptions = {},
  ) {
    this.calls = new TableCalls(client, tableName, options.onCapacity);
    this.now = options.now ?? (() => new Date());
    this.listings = options.listings ?? ALL_LISTINGS;
  }

  /** TTL for retention: each item expires RETENTION_DAYS after its own time (a head: the message's send time). */
  expiry(from: string): Record<string, number> {
    const days = this.options.retentionDays;
    if (days === undefined) return {};
    return { [TABLE.ttlAttribute]: Math.floor(Date.parse(from) / 1000) + days * 86_400 };
  }

  /** Past its TTL: absent for every reader, though DynamoDB may not have deleted it yet (the emulators never do). */
  expired(item: Record<string, unknown>): boolean {
    const expiresAt = item[TABLE.ttlAttribute];
    return typeof expiresAt === "number" && expiresAt * 1000 <= this.now().getTime();
  }

  /** A condition that holds where no live item is: none at all, or one past its TTL. */
  absent(expression: Expression): string {
    return `attribute_not_exists(${expression.path(TABLE.partitionKey)}) OR ${expression.path(TABLE.ttlAttribute)} <= ${expression.value(Math.floor(this.now().getTime() / 1000))}`;
  }

  /** A condition that holds where a live item is. */
  present(expression: Expression): string {
    return `attribute_exists(${expression.path(TABLE.partitionKey)}) AND NOT (${expression.path(TABLE.ttlAttribute)} <= ${expression.value(Math.floor(this.now().getTime() / 1000))})`;
  }
}
