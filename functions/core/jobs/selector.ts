import type { ContentCodec } from "../codec.ts";
import type { MessageHead } from "../model.ts";
import type { ListQuery, PageRequest } from "../store.ts";
import type { JobSelector } from "./model.ts";

/** A compiled text pattern (linear-time engine, as rules use). */
export interface TextPattern {
  test(text: string): boolean;
}

const SECOND = 1_000;

/**
 * The selector's `[since, until)` on the provider's send time, at its one-second precision (Tencent's
 * MsgTime is in seconds), as the store's inclusive bounds: since is floored to its second, and until
 * floored to its second less 1 ms, so a message sent in until's second is out whatever the precision
 * of its recorded time.
 */
export function sendTimeBounds(selector: Pick<JobSelector, "since" | "until">): {
  since?: string;
  until?: string;
} {
  const floor = (iso: string) => Math.floor(Date.parse(iso) / SECOND) * SECOND;
  return {
    ...(selector.since !== undefined ? { since: new Date(floor(selector.since)).toISOString() } : {}),
    ...(selector.until !== undefined ? { until: new Date(floor(selector.until) - 1).toISOString() } : {}),
  };
}

/** The store listing (newest first) that visits the selector's messages; the filter narrows it further. */
export function listQueryOf(selector: JobSelector, page: PageRequest): ListQuery {
  return {
    provider: selector.provider,
    appId: selector.appId,
    ...(selector.conversation !== undefined ? { conversation: selector.conversation } : {}),
    ...(selector.sender !== undefined ? { sender: selector.sender } : {}),
    ...sendTimeBounds(selector),
    limit: page.limit,
    ...(page.nextToken !== undefined ? { nextToken: page.nextToken } : {}),
  };
}

/**
 * What the listing cannot decide: the text pattern on the message's text (the codec's reading) and the
 * extra condition of the job's work (a rule's own `match`). Provisional records (a group before-send
 * completed under another id) are never selected: the completed record is listed on its own.
 */
export class MessageFilter {
  constructor(
    private readonly codec: ContentCodec,
    private readonly pattern: TextPattern | undefined,
    private readonly extra: ((head: MessageHead) => boolean) | undefined,
  ) {}

  matches(head: MessageHead): boolean {
    if (head.resolvedId !== undefined) return false;
    if (this.pattern && !this.pattern.test(this.codec.text(head.content ?? {}))) return false;
    return this.extra?.(head) ?? true;
  }
}
