import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { createDocumentClient } from "../../functions/adapters/dynamodb/client.ts";
import { DynamoStore } from "../../functions/adapters/dynamodb/store.ts";
import { SqliteStore } from "../../functions/adapters/sqlite/store.ts";
import type { Store } from "../../functions/core/store.ts";
import { ensureTable, STORE_TARGETS } from "./dynamo.ts";

/** What a contract case may ask of a store beyond the port: retention and a clock (both adapters take them). */
export interface StoreOptions {
  readonly retentionDays?: number;
  readonly now?: () => Date;
}

export interface RunningTarget {
  /** A fresh, empty store (its own file or table). */
  store(options?: StoreOptions): Promise<Store>;
  close(): Promise<void>;
}

/** One adapter the store contract runs against. */
export interface ContractTarget {
  readonly name: string;
  start(): Promise<RunningTarget>;
}

/** The embedded store, each store a file in a temp directory (as `npm start` runs it: WAL, on disk). */
const sqliteTarget: ContractTarget = {
  name: "sqlite",
  async start() {
    const dir = await mkdtemp(join(tmpdir(), "im-edit-contract-"));
    const stores: SqliteStore[] = [];
    return {
      store: async (options = {}) => {
        const store = new SqliteStore({ path: join(dir, `${randomUUID()}.sqlite`), ...options });
        stores.push(store);
        return store;
      },
      close: async () => {
        for (const store of stores) store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
};

/** The DynamoDB adapter on an emulator (dynalite, DynamoDB Local), each store a fresh table. */
const dynamoTargets: ContractTarget[] = STORE_TARGETS.map((target) => ({
  name: target.name,
  async start() {
    const running = await target.start();
    return {
      store: async (options = {}) => {
        const tableName = `t-${randomUUID()}`;
        await ensureTable(running.endpoint, tableName);
        const documents = createDocumentClient({ region: "local", endpoint: running.endpoint });
        return new DynamoStore(documents, tableName, options);
      },
      close: () => running.close(),
    };
  },
}));

/** Every adapter behind the `Store` port: the contract suite runs unchanged against each. */
export const CONTRACT_TARGETS: readonly ContractTarget[] = [sqliteTarget, ...dynamoTargets];

/** Starts a contract target once per describe block and hands the tests one fresh store on it. */
export function useTarget(target: ContractTarget): { store(): Store } {
  let running: RunningTarget | undefined;
  let store: Store | undefined;
  beforeAll(async () => {
    running = await target.start();
    store = await running.store();
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
