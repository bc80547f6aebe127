import { randomUUID } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { createDocumentClient } from "../../functions/adapters/dynamodb/client.ts";
import { DynamoMessageStore } from "../../functions/adapters/dynamodb/store.ts";
import { ensureTable, type StoreTarget } from "./dynamo.ts";

/** Starts the target once per describe block and hands each test a store on a fresh table. */
export function useStore(target: StoreTarget): { store(): DynamoMessageStore } {
  let running: Awaited<ReturnType<StoreTarget["start"]>> | undefined;
  let store: DynamoMessageStore | undefined;
  beforeAll(async () => {
    running = await target.start();
    const tableName = `t-${randomUUID()}`;
    await ensureTable(running.endpoint, tableName);
    store = new DynamoMessageStore(
      createDocumentClient({ region: "local", endpoint: running.endpoint }),
      tableName,
    );
  });
  afterAll(async () => {
    await running?.close();
  });
  return {
    store: () => {
      if (!store) throw new Error("store not started");
      return store;
    },
  };
}
