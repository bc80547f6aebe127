import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../functions/adapters/dynamodb/client.ts";
import { DynamoStore } from "../../../functions/adapters/dynamodb/store.ts";
import { SqliteStore, sqlitePath } from "../../../functions/adapters/sqlite/store.ts";
import { contentHash, type MessageHead, messageId, type Version } from "../../../functions/core/model.ts";
import type { Store } from "../../../functions/core/store.ts";
import { startDynalite } from "../../../local/dynamo.ts";
import { StoreSetupError, startLocalStack } from "../../../local/stack.ts";

const TABLE = "im-edit";
const NOW = Date.now();
const text = (value: string) => ({ MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: value } }] });

/** The table as the old layout (v1) created it: four indexes, projecting ALL. */
function v1Table(tableName: string) {
  const indexes = [
    ["byKey", "keyPk", "keySk"],
    ["byConversation", "convPk", "convSk"],
    ["bySender", "senderPk", "senderSk"],
    ["byApp", "appPk", "appSk"],
  ] as const;
  return new CreateTableCommand({
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: ["pk", "sk", ...indexes.flatMap(([, p, s]) => [p, s])].map((name) => ({
      AttributeName: name,
      AttributeType: "S",
    })),
    KeySchema: [
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: indexes.map(([IndexName, p, s]) => ({
      IndexName,
      KeySchema: [
        { AttributeName: p, KeyType: "HASH" },
        { AttributeName: s, KeyType: "RANGE" },
      ],
      Projection: { ProjectionType: "ALL" },
    })),
  });
}

const version = (n: number, at: string): Version => ({
  version: n,
  content: text(`v${n}`),
  contentHash: contentHash(text(`v${n}`)),
  source: n === 1 ? "callback" : "api",
  at,
});

function head(n: number, overrides: Partial<MessageHead> = {}): MessageHead {
  const createdAt = new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
  return {
    id: messageId("c2c", ["migrate", String(n)]),
    provider: "tencent",
    appId: "1400000000",
    kind: "c2c",
    key: { from: "alice", to: "bob", msgKey: `k${n}` },
    conversation: "c2c:alice:bob",
    sender: "alice",
    state: "sent",
    version: 1,
    content: text("v1"),
    contentHash: contentHash(text("v1")),
    lookupKey: `c2c|k${n}`,
    createdAt,
    updatedAt: createdAt,
    rev: 3,
    ...overrides,
  };
}

/** A v1 head item: the domain head plus the old index attributes. */
const headItem = (h: MessageHead, extra: Record<string, unknown> = {}) => ({
  ...h,
  pk: `M#${h.id}`,
  sk: "H",
  keyPk: `tencent#${h.appId}#${h.lookupKey}`,
  keySk: h.id,
  convPk: `tencent#${h.appId}#${h.conversation}`,
  convSk: `${h.createdAt}#${h.id}`,
  senderPk: `tencent#${h.appId}#${h.sender}`,
  senderSk: `${h.createdAt}#${h.id}`,
  appPk: `tencent#${h.appId}#3`,
  appSk: `${h.createdAt}#${h.id}`,
  ...extra,
});
const versionItem = (id: string, v: Version, extra: Record<string, unknown> = {}) => ({
  ...v,
  pk: `M#${id}`,
  sk: `V#${String(v.version).padStart(10, "0")}`,
  ...extra,
});

const edited = head(1, { version: 3, content: text("v3"), contentHash: contentHash(text("v3")) });
const quiet = head(2);
const pending = (() => {
  const { content: _c, contentHash: _h, ...rest } = head(3, { state: "pending", version: 0 });
  return rest as MessageHead;
})();
const expired = head(4);
const intent = {
  intentId: "intent-1",
  leaseOwner: "editor-1",
  baseVersion: 3,
  baseContent: text("v3"),
  content: text("v4"),
  changed: text("v4"),
  contentHash: contentHash(text("v4")),
  source: "api",
  actor: "admin",
  idempotencyKey: "idem-open",
  idempotencyHash: "hash-open",
  state: "unknown",
  createdAt: "2026-01-01T00:10:00.000Z",
  deadline: NOW + 10_000,
};
const RESULT = { id: edited.id, version: 3, outcome: "applied" };

/** A v1 dataset, written item by item as the old adapter wrote them. */
function v1Items(): Record<string, unknown>[] {
  const past = Math.floor(NOW / 1000) - 60;
  return [
    headItem(edited),
    versionItem(edited.id, version(1, edited.createdAt)),
    versionItem(edited.id, version(2, "2026-01-01T00:01:00.000Z")),
    versionItem(edited.id, version(3, "2026-01-01T00:02:00.000Z")),
    {
      pk: `M#${edited.id}`,
      sk: "LEASE",
      owner: "editor-1",
      leaseUntil: NOW + 3_600_000,
      expiresAt: past + 9_999,
    },
    { ...intent, pk: `M#${edited.id}`, sk: "INTENT", expiresAt: Math.floor(NOW / 1000) + 86_400 },
    headItem(quiet),
    versionItem(quiet.id, version(1, quiet.createdAt)),
    { pk: `M#${quiet.id}`, sk: "LEASE", owner: "editor-2", leaseUntil: NOW - 1_000 },
    headItem(pending),
    headItem(expired, { expiresAt: past }),
    versionItem(expired.id, version(1, expired.createdAt), { expiresAt: past }),
    versionItem(messageId("c2c", ["orphan"]), version(1, "2026-01-01T00:00:00.000Z")),
    {
      pk: "IDEM#done",
      sk: "IDEM",
      key: "done",
      requestHash: "h-done",
      state: "done",
      response: { status: 200, body: RESULT },
      expiresAtMs: NOW + 86_400_000,
    },
    {
      pk: "IDEM#open",
      sk: "IDEM",
      key: "open",
      requestHash: "hash-open",
      state: "pending",
      expiresAtMs: NOW + 60_000,
    },
    {
      pk: "IDEM#old",
      sk: "IDEM",
      key: "old",
      requestHash: "h",
      state: "done",
      response: { status: 200, body: {} },
      expiresAtMs: NOW - 1,
    },
  ];
}

async function writeV1(endpoint: string, tableName: string, items: Record<string, unknown>[]) {
  const base = new DynamoDBClient({
    endpoint,
    region: "local",
    credentials: { accessKeyId: "a", secretAccessKey: "b" },
  });
  const client = DynamoDBDocumentClient.from(base);
  try {
    await base.send(v1Table(tableName));
    for (let attempt = 0; attempt < 200; attempt++) {
      const { Table } = await base.send(new DescribeTableCommand({ TableName: tableName }));
      if (Table?.TableStatus === "ACTIVE") break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    for (const Item of items) await client.send(new PutCommand({ TableName: tableName, Item }));
  } finally {
    client.destroy();
  }
}

/** Checks the v1 dataset through the v2 port. */
async function expectMigrated(store: Store) {
  const first = version(1, edited.createdAt);
  expect(await store.getHead(edited.id)).toEqual({
    ...edited,
    first,
    lease: { owner: "editor-1", until: NOW + 3_600_000 },
    intent,
  });
  expect((await store.listVersions(edited.id, { limit: 10 })).items).toEqual([
    first,
    version(2, "2026-01-01T00:01:00.000Z"),
    version(3, "2026-01-01T00:02:00.000Z"),
  ]);
  // The expired lease is dropped; a message never edited is one row with version 1 inline.
  expect(await store.getHead(quiet.id)).toEqual({ ...quiet, first: version(1, quiet.createdAt) });
  expect(await store.getHead(pending.id)).toEqual(pending);
  expect(await store.getHead(expired.id)).toBeUndefined();
  expect(await store.getHead(messageId("c2c", ["orphan"]))).toBeUndefined();
  const listed = await store.list({
    provider: "tencent",
    appId: "1400000000",
    conversation: "c2c:alice:bob",
    limit: 10,
  });
  expect(listed.items.map((h) => h.id)).toEqual([pending.id, quiet.id, edited.id]);
  const found = await store.findByKey({
    provider: "tencent",
    appId: "1400000000",
    lookupKey: "c2c|k1",
    sender: "alice",
    sentBetween: [edited.createdAt, edited.createdAt],
  });
  expect(found.map((h) => h.id)).toEqual([edited.id]);
  expect(await store.getIdempotencyRecord("done", NOW)).toEqual({
    key: "done",
    requestHash: "h-done",
    state: "done",
    result: RESULT,
    expiresAtMs: NOW + 86_400_000,
  });
  expect(await store.getIdempotencyRecord("open", NOW)).toEqual({
    key: "open",
    requestHash: "hash-open",
    state: "pending",
    expiresAtMs: NOW + 60_000,
  });
  expect(await store.getIdempotencyRecord("old", NOW - 10)).toBeUndefined();
}

describe("migration from storage layout v1", () => {
  const dirs: string[] = [];
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), "im-edit-migrate-"));
    dirs.push(dir);
    return dir;
  };
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  /** An old DATA_DIR: dynalite's LevelDB files under DATA_DIR/dynalite, as the old local stack left them. */
  async function oldDataDir(items = v1Items(), tableName = TABLE): Promise<string> {
    const dataDir = await tempDir();
    const dynalite = await startDynalite({ path: join(dataDir, "dynalite") });
    try {
      await writeV1(dynalite.endpoint, tableName, items);
    } finally {
      await dynalite.close();
    }
    return dataDir;
  }

  const start = (dataDir: string, log?: (line: string) => void) =>
    startLocalStack({
      env: { TABLE_NAME: TABLE, AWS_REGION: "local", TENCENT_SDKAPPID: "1400000000", DATA_DIR: dataDir },
      host: "127.0.0.1",
      port: 0,
      apiToken: "t",
      persist: true,
      drainIntervalMs: 60_000,
      ...(log ? { log } : {}),
    });

  it("npm start migrates an old DATA_DIR into the embedded store and moves the old files aside", async () => {
    const dataDir = await oldDataDir();
    const lines: string[] = [];
    const stack = await start(dataDir, (line) => lines.push(line));
    try {
      expect(stack.storeDescription).toContain(sqlitePath(dataDir));
      expect(stack.migration?.report).toMatchObject({
        messages: 3,
        versions: 2,
        leases: 1,
        intents: 1,
        idempotencyKeys: 2,
        orphans: 1,
        unknown: 0,
      });
      expect(lines.join("\n")).toMatch(/layout-v1-backup/);
      await expectMigrated(stack.deps.store);
    } finally {
      await stack.close();
    }
    expect(existsSync(join(dataDir, "dynalite"))).toBe(false);
    expect(existsSync(join(dataDir, "layout-v1-backup"))).toBe(true);
    // A restart finds the migrated data and migrates nothing again.
    const again = await start(dataDir);
    try {
      expect(again.migration).toBeUndefined();
      await expectMigrated(again.deps.store);
    } finally {
      await again.close();
    }
  });

  it("refuses to start, naming npm run migrate, when the old files hold another table", async () => {
    const dataDir = await oldDataDir(v1Items(), "other-table");
    await expect(start(dataDir)).rejects.toThrow(StoreSetupError);
    await expect(start(dataDir)).rejects.toThrow(/npm run migrate -- --data-dir .* --table <name>/);
    expect(existsSync(join(dataDir, "dynalite"))).toBe(true);
  });

  it("npm run migrate converts any DynamoDB-compatible v1 table into an embedded store, and is idempotent", async () => {
    const source = await startDynalite();
    try {
      await writeV1(source.endpoint, "legacy", v1Items());
      const target = await tempDir();
      const run = () =>
        promisify(execFile)(
          "npx",
          [
            "tsx",
            "local/migrate.ts",
            "--endpoint",
            source.endpoint,
            "--table",
            "legacy",
            "--to-data-dir",
            target,
          ],
          { env: { ...process.env, AWS_REGION: "local" } },
        );
      const { stdout } = await run();
      expect(stdout).toMatch(/migrated: 3 messages, 2 later versions/);
      const { stdout: second } = await run();
      expect(second).toMatch(/migrated: 0 messages, 0 later versions.*already there/);
      const store = new SqliteStore({ path: sqlitePath(target) });
      try {
        await expectMigrated(store);
      } finally {
        store.close();
      }
    } finally {
      await source.close();
    }
  });

  it("npm run migrate converts a v1 table into a v2 table through the DynamoDB adapter", async () => {
    const dynalite = await startDynalite();
    try {
      await writeV1(dynalite.endpoint, "legacy", v1Items());
      const args = ["--endpoint", dynalite.endpoint, "--table", "legacy", "--to-endpoint", dynalite.endpoint];
      const run = (...more: string[]) =>
        promisify(execFile)("npx", ["tsx", "local/migrate.ts", ...args, ...more], {
          env: { ...process.env, AWS_REGION: "local", LISTINGS: "" },
        });
      await expect(run("--to-table", "legacy")).rejects.toThrow(/another table than the source/);
      // The heads get the keys of the target's indexes; a LISTINGS that says otherwise is refused.
      const otherListings = promisify(execFile)(
        "npx",
        ["tsx", "local/migrate.ts", ...args, "--to-table", "im-edit-v2"],
        { env: { ...process.env, AWS_REGION: "local", LISTINGS: "conversation" } },
      );
      await expect(otherListings).rejects.toThrow(
        /LISTINGS=conversation, but im-edit-v2 has the indexes of conversation,app/,
      );
      const { stdout } = await run("--to-table", "im-edit-v2");
      expect(stdout).toMatch(
        /migrated: 3 messages, 2 later versions, 1 leases, 1 intents, 2 idempotency keys/,
      );
      const documents = createDocumentClient({ region: "local", endpoint: dynalite.endpoint });
      try {
        await expectMigrated(new DynamoStore(documents, "im-edit-v2"));
      } finally {
        documents.destroy();
      }
    } finally {
      await dynalite.close();
    }
  });
});
