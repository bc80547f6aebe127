import { type DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { EditIntent, MessageHead, Version } from "../functions/core/model.ts";
import type { Store } from "../functions/core/store.ts";

/**
 * Storage layout v1 → v2, through the `Store` port (so any v2 adapter is a target).
 *
 * v1 (the layout before issue 14): one partition `M#<id>` per message with items sk `H` (the head, plus
 * index attributes keyPk/keySk, convPk/convSk, senderPk/senderSk, appPk/appSk), `V#<10 digits>` (every
 * version, 1 included), `LEASE` (owner, leaseUntil) and `INTENT` (the EditIntent's fields); idempotency
 * records `IDEM#<key>`/`IDEM` holding the rendered HTTP answer as `response: {status, body}`. Any item
 * may carry `expiresAt` (epoch seconds, DynamoDB TTL).
 *
 * v2: version 1 goes into the head (`first`), the lease (unless expired) and the intent onto the head,
 * versions 2 and later as they are; an idempotency record keeps `result` = the old `response.body`
 * (every stored answer was a 200). Expired items are not carried over: v1 readers treated them as absent.
 * Idempotent: what the target already holds is left as it is, so an interrupted run can be run again.
 */
const V1 = {
  head: "H",
  version: "V#",
  lease: "LEASE",
  intent: "INTENT",
  idempotency: "IDEM",
  messagePrefix: "M#",
  idempotencyPrefix: "IDEM#",
} as const;

/** Attributes that exist only for DynamoDB in v1 (keys, index keys, TTL). */
const STORAGE_ATTRIBUTES = new Set([
  "pk",
  "sk",
  "expiresAt",
  "keyPk",
  "keySk",
  "convPk",
  "convSk",
  "senderPk",
  "senderSk",
  "appPk",
  "appSk",
]);

type Item = Record<string, unknown>;

export interface MigrationReport {
  messages: number;
  versions: number;
  leases: number;
  intents: number;
  idempotencyKeys: number;
  /** Already in the target (an earlier run): left as they are. */
  alreadyPresent: number;
  /** Past their TTL, leases past their time, idempotency records without a usable result. */
  skipped: number;
  /** Items of a message whose head is missing (version 1, lease, intent cannot live without it). */
  orphans: number;
  /** Items the migration does not know (reported, never guessed at). */
  unknown: number;
}

export interface MigrateOptions {
  /** Epoch ms: leases and TTLs are judged at this time. */
  readonly nowMs?: number;
  /** Progress lines (every 1,000 messages and the total). */
  readonly log?: (line: string) => void;
}

const domain = (item: Item): Item =>
  Object.fromEntries(Object.entries(item).filter(([name]) => !STORAGE_ATTRIBUTES.has(name)));

/** Every item of the v1 table, read page by page (consistent), grouped by message as it goes. */
async function* scan(client: DynamoDBDocumentClient, tableName: string): AsyncGenerator<Item> {
  let start: Item | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    for (const item of page.Items ?? []) yield item;
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
}

/** The parts of one message found so far (a Scan returns a partition's items together; a late part merges). */
interface Parts {
  head?: Item;
  first?: Item;
  lease?: Item;
  intent?: Item;
}

/** Copies a v1 table into a v2 store. */
export async function migrateV1(
  client: DynamoDBDocumentClient,
  tableName: string,
  target: Store,
  options: MigrateOptions = {},
): Promise<MigrationReport> {
  const nowMs = options.nowMs ?? Date.now();
  const report = emptyReport();
  const expired = (item: Item) => typeof item.expiresAt === "number" && item.expiresAt * 1000 <= nowMs;
  /** Parts of messages whose head did not come with them: merged at the end. */
  const late = new Map<string, Parts>();
  let current: { id: string; parts: Parts } | undefined;

  const flush = async () => {
    if (!current) return;
    const { id, parts } = current;
    current = undefined;
    if (parts.head) await writeHead(id, parts);
    else if (parts.first || parts.lease || parts.intent) late.set(id, { ...late.get(id), ...parts });
  };

  const writeHead = async (id: string, parts: Parts) => {
    const head = toHead(id, parts, nowMs, report);
    const existing = await target.createHead(head);
    if (existing !== undefined) report.alreadyPresent++;
    else {
      report.messages++;
      if (report.messages % 1_000 === 0) options.log?.(`  ${report.messages} messages…`);
    }
  };

  for await (const item of scan(client, tableName)) {
    const pk = String(item.pk);
    const sk = String(item.sk);
    if (expired(item)) {
      report.skipped++;
      continue;
    }
    if (pk.startsWith(V1.idempotencyPrefix) && sk === V1.idempotency) {
      await copyIdempotency(item, target, nowMs, report);
      continue;
    }
    if (!pk.startsWith(V1.messagePrefix)) {
      report.unknown++;
      continue;
    }
    const id = pk.slice(V1.messagePrefix.length);
    if (current?.id !== id) {
      await flush();
      current = { id, parts: {} };
    }
    const parts = current.parts;
    if (sk === V1.head) parts.head = item;
    else if (sk === V1.lease) parts.lease = item;
    else if (sk === V1.intent) parts.intent = item;
    else if (sk.startsWith(V1.version) && /^\d{10}$/.test(sk.slice(V1.version.length))) {
      const n = Number(sk.slice(V1.version.length));
      if (n === 1) parts.first = item;
      else if (await target.putVersion(id, { ...domain(item), version: n } as unknown as Version))
        report.versions++;
      else report.alreadyPresent++;
    } else report.unknown++;
  }
  await flush();

  // Parts that came apart from their head (or whose head is gone): merged into the head if it exists.
  for (const [id, parts] of late) {
    const head = await target.getHead(id);
    if (head === undefined) {
      report.orphans += [parts.first, parts.lease, parts.intent].filter(Boolean).length;
      continue;
    }
    const merged = toHead(id, { ...parts, head: head as unknown as Item }, nowMs, report);
    if (!(await target.putHead({ ...merged, rev: head.rev + 1 }, head.rev))) report.alreadyPresent++;
  }
  return report;
}

/** A v2 head from a v1 head item and the message's version 1, lease and intent items. */
function toHead(id: string, parts: Parts, nowMs: number, report: MigrationReport): MessageHead {
  // A v1 head has none of first/lease/intent; a v2 head (a late part merging into it) keeps its own.
  const {
    first: had,
    lease: held,
    intent: recorded,
    ...fields
  } = domain(parts.head ?? {}) as Partial<MessageHead>;
  const first = parts.first ? ({ ...domain(parts.first), version: 1 } as unknown as Version) : had;
  const leaseUntil = Number(parts.lease?.leaseUntil);
  const lease =
    parts.lease && typeof parts.lease.owner === "string" && leaseUntil > nowMs
      ? { owner: parts.lease.owner, until: leaseUntil }
      : held;
  if (parts.lease) {
    if (lease === held) report.skipped++;
    else report.leases++;
  }
  const intent = parts.intent ? (domain(parts.intent) as unknown as EditIntent) : recorded;
  if (parts.intent) report.intents++;
  return {
    ...(fields as MessageHead),
    id,
    ...(first ? { first } : {}),
    ...(lease ? { lease } : {}),
    ...(intent ? { intent } : {}),
  };
}

async function copyIdempotency(item: Item, target: Store, nowMs: number, report: MigrationReport) {
  const key = String(item.key ?? String(item.pk).slice(V1.idempotencyPrefix.length));
  const requestHash = item.requestHash;
  const expiresAtMs = Number(item.expiresAtMs);
  const response = item.response as { status?: unknown; body?: unknown } | undefined;
  const done = item.state === "done";
  if (
    typeof requestHash !== "string" ||
    !(expiresAtMs > nowMs) ||
    (item.state !== "pending" && !done) ||
    (done && response?.status !== 200)
  ) {
    report.skipped++;
    return;
  }
  const result = done ? response?.body : undefined;
  const record = { key, requestHash, state: item.state as "pending" | "done", expiresAtMs };
  if (!(await target.claimIdempotencyKey(done ? { ...record, result } : record, nowMs))) {
    report.alreadyPresent++;
    return;
  }
  if (done) await target.completeIdempotencyKey(key, requestHash, result, expiresAtMs);
  report.idempotencyKeys++;
}

/** A report with nothing counted yet (also what a migration with nothing to read answers). */
export const emptyReport = (): MigrationReport => ({
  messages: 0,
  versions: 0,
  leases: 0,
  intents: 0,
  idempotencyKeys: 0,
  alreadyPresent: 0,
  skipped: 0,
  orphans: 0,
  unknown: 0,
});
