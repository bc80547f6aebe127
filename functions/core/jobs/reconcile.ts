import { BadRequestError } from "../errors.ts";
import { contentHash, identityOf, type MessageHead, type Version } from "../model.ts";
import type { HistoryItem, HistoryQuery, ProviderEditor } from "../provider.ts";
import type { MessageStore } from "../store.ts";
import type { ReconcileSpec } from "./model.ts";

/**
 * Reconcile (`POST /v1/reconcile`): pages a provider's history of one conversation and records the
 * messages no callback reported, each as a head with version 1 `source: "reconcile"`, built like the
 * recorder builds a new sent message (recorder.ts `sentHead`), with the id and key the callback path
 * gives it (the provider's history reuses its callback identity code). A message already recorded is
 * left exactly as it is, whatever its state: the history never overrides what callbacks said. Reconciled
 * records run no rules and publish nothing: they are not callbacks.
 */

export interface ReconcilePageResult {
  /** History items on the page (in range). */
  readonly seen: number;
  readonly created: number;
  /** Already recorded: left as they are. */
  readonly existing: number;
  /** The records this page created (their `MessageRecorded` events are the caller's to publish). */
  readonly recorded: readonly MessageHead[];
  /** The cursor of the next page; absent after the last one. */
  readonly nextCursor?: string;
}

/** createHead calls in flight per page (a page is at most ~100 items). */
const CONCURRENCY = 8;

/**
 * The history query a reconcile spec asks for, or a BadRequestError saying why the provider cannot page
 * it: no such provider or app, no history API, not exactly one of pair and groupId, bad times.
 */
export function validateReconcile(spec: ReconcileSpec, editor: ProviderEditor | undefined): HistoryQuery {
  if (editor === undefined || editor.appId !== spec.appId) {
    throw new BadRequestError(`no editor is configured for provider ${spec.provider} and app ${spec.appId}`, {
      code: "provider_not_configured",
    });
  }
  if (editor.history === undefined) {
    throw new BadRequestError(`provider ${spec.provider} has no history API to reconcile from`, {
      code: "reconcile_unsupported",
    });
  }
  const hasPair = spec.pair !== undefined;
  const hasGroup = spec.groupId !== undefined;
  if (hasPair === hasGroup) {
    throw new BadRequestError(
      hasPair
        ? "give either pair or groupId, not both"
        : "give the conversation to reconcile: pair [a, b] or groupId",
    );
  }
  if (spec.pair !== undefined && (spec.pair.length !== 2 || spec.pair.some((account) => account === ""))) {
    throw new BadRequestError("pair must be two non-empty account ids");
  }
  if (spec.groupId === "") throw new BadRequestError("groupId must not be empty");
  if (spec.topicId && !hasGroup) throw new BadRequestError("topicId needs a groupId");
  const since = epochMs(spec.since, "since");
  const until = epochMs(spec.until, "until");
  if (since >= until) throw new BadRequestError("since must be before until");
  const query: HistoryQuery = {
    ...(spec.pair !== undefined ? { pair: [spec.pair[0], spec.pair[1]] as const } : {}),
    ...(spec.groupId !== undefined ? { groupId: spec.groupId } : {}),
    ...(spec.topicId ? { topicId: spec.topicId } : {}),
    since,
    until,
  };
  const problem = editor.historyProblem?.(query);
  if (problem !== undefined) throw new BadRequestError(problem, { code: "reconcile_unsupported" });
  return query;
}

/**
 * One page of the provider's history (one provider call, through the limiter like every other): each
 * message recorded unless it is already. `cursor` is the previous page's `nextCursor`.
 */
export async function reconcilePage(
  store: MessageStore,
  editor: ProviderEditor,
  spec: ReconcileSpec,
  cursor: string | undefined,
  deadline: number,
  now: () => Date,
  options: { readonly jobId?: string } = {},
): Promise<ReconcilePageResult> {
  const query = validateReconcile(spec, editor);
  // validateReconcile refused an editor without history.
  const page = await (editor.history as NonNullable<ProviderEditor["history"]>)(query, cursor, deadline);
  const recorded: MessageHead[] = [];
  let existing = 0;
  for (let start = 0; start < page.items.length; start += CONCURRENCY) {
    const batch = page.items.slice(start, start + CONCURRENCY);
    await Promise.all(
      batch.map(async (item) => {
        const head = reconciledHead(item, now().toISOString(), options.jobId);
        if ((await store.createHead(head)) === undefined) recorded.push(head);
        else existing++;
      }),
    );
  }
  return {
    seen: page.items.length,
    created: recorded.length,
    existing,
    recorded,
    ...(page.nextToken !== undefined ? { nextCursor: page.nextToken } : {}),
  };
}

/** The head of a message only the history showed: version 1 in the head, as the recorder writes a send. */
export function reconciledHead(item: HistoryItem, at: string, jobId?: string): MessageHead {
  const { message, content } = item;
  const hash = contentHash(content);
  const first: Version = {
    version: 1,
    content,
    contentHash: hash,
    source: "reconcile",
    ...(message.sender !== undefined ? { actor: message.sender } : {}),
    at: message.sentAt,
    ...(jobId !== undefined ? { jobId } : {}),
    ...(item.eventAt !== undefined ? { eventAt: item.eventAt } : {}),
  };
  return {
    ...identityOf(message),
    state: item.state,
    version: 1,
    content,
    contentHash: hash,
    ...(item.eventAt !== undefined ? { eventAt: item.eventAt } : {}),
    first,
    createdAt: message.sentAt,
    updatedAt: at,
    rev: 1,
  };
}

function epochMs(iso: string, name: string): number {
  const ms = Date.parse(iso);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(iso) || Number.isNaN(ms)) {
    throw new BadRequestError(`${name} must be an ISO 8601 timestamp (e.g. 2026-01-01T00:00:00Z)`);
  }
  return ms;
}
