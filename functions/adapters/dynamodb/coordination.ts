import type { MessageHead } from "../../core/model.ts";
import type {
  EditCommit,
  EditCoordination,
  EditIntent,
  IntentChange,
  IntentState,
  Lease,
} from "../../core/store.ts";
import type { StoreContext } from "./context.ts";
import { Expression } from "./expressions.ts";
import { headFromItem } from "./items.ts";
import { headKey } from "./messages.ts";

/**
 * The edit protocol's lease and intent, as attributes of the head: each method is one conditional
 * UpdateItem that also increments `rev`, so a writer holding an older head (putHead) cannot erase them.
 * None of these touches an index key or a projected attribute: they write no index entry.
 */
export class DynamoCoordination implements EditCoordination {
  constructor(private readonly context: StoreContext) {}

  async acquireLease(id: string, lease: Lease, nowMs: number): Promise<boolean> {
    const e = new Expression();
    return this.update("acquireLease", id, e, `SET ${e.path("lease")} = ${e.value(lease)}`, [
      this.context.present(e),
      leaseFree(e, lease.owner, nowMs),
    ]);
  }

  async extendLease(id: string, lease: Lease): Promise<boolean> {
    const e = new Expression();
    return this.update("extendLease", id, e, `SET ${e.path("lease")} = ${e.value(lease)}`, [
      `${e.path("lease", "owner")} = ${e.value(lease.owner)}`,
    ]);
  }

  async releaseLease(id: string, owner: string): Promise<void> {
    const e = new Expression();
    await this.update("releaseLease", id, e, `REMOVE ${e.path("lease")}`, [
      `${e.path("lease", "owner")} = ${e.value(owner)}`,
    ]);
  }

  async beginEdit(id: string, lease: Lease, intent: EditIntent, nowMs: number): Promise<boolean> {
    const e = new Expression();
    return this.update(
      "beginEdit",
      id,
      e,
      `SET ${e.path("lease")} = ${e.value(lease)}, ${e.path("intent")} = ${e.value(intent)}`,
      [
        this.context.present(e),
        `${e.path("version")} = ${e.value(intent.baseVersion)}`,
        leaseFree(e, lease.owner, nowMs),
        // No unsettled intent: none, or the last one applied.
        `attribute_not_exists(${e.path("intent")}) OR ${e.path("intent", "state")} = ${e.value("applied")}`,
      ],
    );
  }

  async putIntent(id: string, intent: EditIntent): Promise<boolean> {
    const e = new Expression();
    return this.update("putIntent", id, e, `SET ${e.path("intent")} = ${e.value(intent)}`, [
      `${e.path("lease", "owner")} = ${e.value(intent.leaseOwner)}`,
    ]);
  }

  async updateIntent(
    id: string,
    intentId: string,
    change: IntentChange,
    from?: IntentState,
  ): Promise<boolean> {
    const entries = Object.entries(change).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return true;
    const e = new Expression();
    return this.update(
      "updateIntent",
      id,
      e,
      `SET ${entries.map(([name, value]) => `${e.path("intent", name)} = ${e.value(value)}`).join(", ")}`,
      [
        `${e.path("intent", "intentId")} = ${e.value(intentId)}`,
        ...(from !== undefined ? [`${e.path("intent", "state")} = ${e.value(from)}`] : []),
      ],
    );
  }

  async deleteIntent(
    id: string,
    intentId: string,
    options: { evenIfApplied?: boolean } = {},
  ): Promise<boolean> {
    const e = new Expression();
    return this.update("deleteIntent", id, e, `REMOVE ${e.path("intent")}`, [
      `${e.path("intent", "intentId")} = ${e.value(intentId)}`,
      ...(options.evenIfApplied ? [] : [`${e.path("intent", "state")} <> ${e.value("applied")}`]),
    ]);
  }

  /**
   * One UpdateItem: the head shows the version, the intent is applied until `echoUntil`, the lease is
   * gone. Version 1 keeps its own content: while the head still showed it, `first` stored none (it was
   * the head's), so it is copied in first; DynamoDB evaluates every operand against the item before
   * the update. The state becomes `sent`: only a sent or pending head commits (a recall or failure that
   * landed during the call fails the condition, and the caller's slow path keeps it sticky).
   */
  async commitEdit(id: string, commit: EditCommit): Promise<MessageHead | undefined> {
    const e = new Expression();
    const { version } = commit;
    const none = e.value(null);
    const keep = (field: string) =>
      `${e.path("first", field)} = if_not_exists(${e.path("first", field)}, if_not_exists(${e.path(field)}, ${none}))`;
    const sets = [
      keep("content"),
      keep("contentHash"),
      keep("eventAt"),
      `${e.path("version")} = ${e.value(version.version)}`,
      `${e.path("content")} = ${e.value(version.content)}`,
      `${e.path("contentHash")} = ${e.value(version.contentHash)}`,
      `${e.path("eventAt")} = ${e.value(commit.eventAt)}`,
      `${e.path("updatedAt")} = ${e.value(commit.updatedAt)}`,
      `${e.path("state")} = ${e.value("sent")}`,
      `${e.path("intent", "state")} = ${e.value("applied")}`,
      `${e.path("intent", "deadline")} = ${e.value(commit.echoUntil)}`,
      `${e.path("rev")} = ${e.path("rev")} + ${e.value(1)}`,
    ];
    const output = await this.context.calls.update("commitEdit", {
      Key: headKey(id),
      UpdateExpression: `SET ${sets.join(", ")} REMOVE ${e.path("lease")}`,
      ConditionExpression: [
        `${e.path("lease", "owner")} = ${e.value(commit.owner)}`,
        `${e.path("intent", "intentId")} = ${e.value(version.intentId ?? "")}`,
        `${e.path("version")} = ${e.value(version.version - 1)}`,
        `${e.path("state")} IN (${e.value("sent")}, ${e.value("pending")})`,
        // Version 1 lives in the head from its first delivery on; without it there is nothing to keep.
        `attribute_exists(${e.path("first")})`,
      ].join(" AND "),
      ...e.attributes(),
      ReturnValues: "ALL_NEW",
    });
    return output?.Attributes ? headFromItem(output.Attributes) : undefined;
  }

  /** A conditional partial write of the head that increments `rev`; false when a condition failed. */
  private async update(
    operation: string,
    id: string,
    e: Expression,
    action: string,
    conditions: readonly string[],
  ): Promise<boolean> {
    const rev = e.path("rev");
    const increment = `${rev} = ${rev} + ${e.value(1)}`;
    // SET comes before REMOVE; a REMOVE-only action gets its own SET clause for the revision.
    const expression = action.startsWith("SET ") ? `${action}, ${increment}` : `SET ${increment} ${action}`;
    const output = await this.context.calls.update(operation, {
      Key: headKey(id),
      UpdateExpression: expression,
      // DynamoDB refuses redundant parentheses: only a disjunction needs them inside a conjunction.
      ConditionExpression: conditions
        .map((condition) => (condition.includes(" OR ") ? `(${condition})` : condition))
        .join(" AND "),
      ...e.attributes(),
    });
    return output !== undefined;
  }
}

/** The lease is free, expired at `nowMs`, or already `owner`'s. */
function leaseFree(e: Expression, owner: string, nowMs: number): string {
  return `attribute_not_exists(${e.path("lease")}) OR ${e.path("lease", "until")} < ${e.value(nowMs)} OR ${e.path("lease", "owner")} = ${e.value(owner)}`;
}
