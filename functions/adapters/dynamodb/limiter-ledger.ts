// A key's ledger item (`RATE#<key>` / `LEDGER`): the leases it holds, their stored form, and the
// consistent read and versioned conditional write every process syncs its lease with.
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { Clock } from "../../core/limiter.ts";
import { conditionally, guard } from "./calls.ts";
import { TABLE } from "./table.ts";

/** A process's lease as stored: `[n, b, m, c, by, exp, want, wantBg, ia]`. */
export interface Lease {
  readonly n: number;
  readonly b: number;
  readonly m: number;
  readonly c: number;
  readonly by: number;
  readonly exp: number;
  readonly want: number;
  readonly wantBg: number;
  /** When its process last had interactive demand (epoch ms), 0: none within the grace. */
  readonly ia: number;
}

export interface Ledger {
  /** The item's version; 0: no item. */
  readonly version: number;
  readonly leases: ReadonlyMap<string, Lease>;
  readonly readAt: number;
}

const LEDGER_SK = "LEDGER";
/** Margin for clock differences between processes, on the others' `by` and `exp`. */
export const CLOCK_SKEW_MS = 20;

/** The ledger items as one process (`owner`) reads and writes them. */
export class LedgerStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly owner: string,
    private readonly clock: Clock,
  ) {}

  async read(pk: string): Promise<Ledger> {
    const output = await guard(
      this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { pk, sk: LEDGER_SK }, ConsistentRead: true }),
      ),
    );
    return parseLedger(output.Item, this.clock.now());
  }

  write(pk: string, ledger: Ledger, lease: Lease | undefined, now: number): Promise<boolean> {
    const leases: Record<string, number[]> = {};
    let expires = now;
    for (const [owner, other] of ledger.leases) {
      // Leases that ended are dropped, so the item stays one small lease per live process.
      if (owner === this.owner || other.exp + CLOCK_SKEW_MS <= now) continue;
      leases[owner] = encode(other);
      expires = Math.max(expires, other.exp);
    }
    if (lease) {
      leases[this.owner] = encode(lease);
      expires = Math.max(expires, lease.exp);
    }
    return conditionally(
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk,
            sk: LEDGER_SK,
            v: ledger.version + 1,
            l: leases,
            [TABLE.ttlAttribute]: Math.ceil(expires / 1000) + 3_600,
          },
          ...(ledger.version === 0
            ? { ConditionExpression: "attribute_not_exists(pk)" }
            : { ConditionExpression: "v = :v", ExpressionAttributeValues: { ":v": ledger.version } }),
        }),
      ),
    );
  }
}

const encode = (lease: Lease): number[] => [
  lease.n,
  lease.b,
  lease.m,
  lease.c,
  lease.by,
  lease.exp,
  lease.want,
  lease.wantBg,
  lease.ia,
];

function parseLedger(item: Record<string, unknown> | undefined, now: number): Ledger {
  const leases = new Map<string, Lease>();
  const version = typeof item?.v === "number" ? item.v : 0;
  const stored = item?.l;
  if (stored && typeof stored === "object") {
    for (const [owner, value] of Object.entries(stored)) {
      if (!Array.isArray(value) || value.length < 8 || !value.every((part) => typeof part === "number"))
        continue;
      // Leases written before the reserve signal have 8 parts: no interactive demand.
      const [n, b, m, c, by, exp, want, wantBg, ia] = value as number[];
      leases.set(owner, {
        n: n ?? 0,
        b: b ?? 0,
        m: m ?? 0,
        c: c ?? 0,
        by: by ?? 0,
        exp: exp ?? 0,
        want: want ?? 0,
        wantBg: wantBg ?? 0,
        ia: ia ?? 0,
      });
    }
  }
  // An item without a version (none yet) is created with a condition on its absence.
  return { version: item === undefined ? 0 : version, leases, readAt: now };
}
