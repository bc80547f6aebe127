import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { ComposedStore } from "../composed-store.ts";
import { type DynamoStoreOptions, StoreContext } from "./context.ts";
import { DynamoCoordination } from "./coordination.ts";
import { DynamoIdempotency } from "./idempotency.ts";
import { DynamoJobs } from "./jobs.ts";
import { DynamoListing } from "./listing.ts";
import { DynamoMessages } from "./messages.ts";

export type { CapacityObserver } from "./calls.ts";
export type { DynamoStoreOptions } from "./context.ts";
export { appShard } from "./items.ts";
export { MAX_EXAMINED_PER_PAGE } from "./listing.ts";
export { indexEntrySize, itemSize, storedBytes, writeUnits } from "./size.ts";

/**
 * The DynamoDB adapter: every storage port on one table, layout v2 (table.ts). The parts:
 * messages.ts (heads and versions), listing.ts (listings and partial natural keys, over the indexes),
 * coordination.ts (lease and intent on the head), idempotency.ts, jobs.ts (bulk jobs, one partition, and
 * a marker per active job so the sweep's `activeJobs` reads only those: 1 Query + ceil(n / 100) BatchGetItem),
 * items.ts (the item codec).
 */
export class DynamoStore extends ComposedStore {
  constructor(client: DynamoDBDocumentClient, tableName: string, options: DynamoStoreOptions = {}) {
    const context = new StoreContext(client, tableName, options);
    super({
      messages: new DynamoMessages(context),
      listing: new DynamoListing(context),
      coordination: new DynamoCoordination(context),
      idempotency: new DynamoIdempotency(context),
      jobs: new DynamoJobs(context),
    });
  }
}
