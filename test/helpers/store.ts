import { randomUUID } from "node:crypto";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll } from "vitest";
import { createDocumentClient } from "../../functions/adapters/dynamodb/client.ts";
import { DynamoStore, type DynamoStoreOptions } from "../../functions/adapters/dynamodb/store.ts";
import { ensureTable, type StoreTarget } from "./dynamo.ts";

export interface UsedStore {
  /** The store on this block's table. */
  store(): DynamoStore;
  /** Another store on the same table (other options: a capacity observer, a counting client). */
  storeWith(options: DynamoStoreOptions, client?: DynamoDBDocumentClient): DynamoStore;
  /** The document client and table, to read raw items. */
  table(): { client: DynamoDBDocumentClient; tableName: string };
}

/** Starts the target once per describe block and hands its tests a store on a fresh table. */
export function useStore(target: StoreTarget): UsedStore {
  let running: Awaited<ReturnType<StoreTarget["start"]>> | undefined;
  let client: DynamoDBDocumentClient | undefined;
  let store: DynamoStore | undefined;
  const tableName = `t-${randomUUID()}`;
  beforeAll(async () => {
    running = await target.start();
    await ensureTable(running.endpoint, tableName);
    client = createDocumentClient({ region: "local", endpoint: running.endpoint });
    store = new DynamoStore(client, tableName);
  });
  afterAll(async () => {
    client?.destroy();
    await running?.close();
  });
  const started = () => {
    if (!store || !client) throw new Error("store not started");
    return { store, client };
  };
  return {
    store: () => started().store,
    storeWith: (options, other) => new DynamoStore(other ?? started().client, tableName, options),
    table: () => ({ client: started().client, tableName }),
  };
}

/** A document client that counts the commands sent through it, by command name. */
export function countingClient(client: DynamoDBDocumentClient): {
  client: DynamoDBDocumentClient;
  calls: string[];
} {
  const calls: string[] = [];
  const counting = Object.create(client) as DynamoDBDocumentClient;
  counting.send = ((command: { constructor: { name: string } }, ...rest: unknown[]) => {
    calls.push(command.constructor.name);
    return (client.send as (...args: unknown[]) => unknown)(command, ...rest);
  }) as DynamoDBDocumentClient["send"];
  return { client: counting, calls };
}
