import { randomUUID } from "node:crypto";
import {
  type Content,
  contentHash,
  type EditIntent,
  type MessageHead,
  messageId,
  type Version,
} from "../../functions/core/model.ts";
import type { Store } from "../../functions/core/store.ts";

export const text = (value: string): Content => ({
  MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: value } }],
});

export function version(n: number, value = `v${n}`, overrides: Partial<Version> = {}): Version {
  const content = text(value);
  return {
    version: n,
    content,
    contentHash: contentHash(content),
    source: n === 1 ? "callback" : "api",
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    ...overrides,
  };
}

/**
 * Message n of an app: sent at 2026-01-01T00:00:n, by `u<n % 3>` to `peer`, version 1 in the head.
 * Ids are deterministic per (app, n), so a fresh app id gives each case its own messages.
 */
export function head(appId: string, n: number, overrides: Partial<MessageHead> = {}): MessageHead {
  const createdAt = new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
  const first: Version = version(1, `m${n}`, { at: createdAt, eventAt: Date.parse(createdAt) });
  return {
    id: messageId("c2c", ["t", appId, String(n)]),
    provider: "tencent",
    appId,
    kind: "c2c",
    key: { from: `u${n % 3}`, to: "peer", msgKey: `k${n}` },
    conversation: `c2c:peer:u${n % 3}`,
    sender: `u${n % 3}`,
    state: "sent",
    version: 1,
    content: first.content,
    contentHash: first.contentHash,
    eventAt: first.eventAt,
    lookupKey: `c2c|k${n}`,
    createdAt,
    updatedAt: createdAt,
    rev: 1,
    first,
    ...overrides,
  } as MessageHead;
}

export function intent(overrides: Partial<EditIntent> = {}): EditIntent {
  const content = text("edited");
  return {
    intentId: randomUUID(),
    leaseOwner: "owner-a",
    baseVersion: 1,
    baseContent: text("m1"),
    content,
    changed: content,
    contentHash: contentHash(content),
    source: "api",
    actor: "admin",
    state: "open",
    createdAt: "2026-01-01T00:01:00.000Z",
    deadline: 2_000_000_000_000,
    ...overrides,
  };
}

/** A fresh app id: every case writes its own messages, so cases sharing a store never interfere. */
export const freshApp = (): string => randomUUID();

/** Creates a message (its head, version 1 inline) in a fresh app; returns the head as written. */
export async function created(store: Store, overrides: Partial<MessageHead> = {}): Promise<MessageHead> {
  const h = head(freshApp(), 1, overrides);
  const existing = await store.createHead(h);
  if (existing !== undefined) throw new Error("fixture message already existed");
  return h;
}

/** Reads every page of a listing; returns the ids in order and the number of pages read. */
export async function collect<T extends { id: string }>(
  read: (token: string | undefined) => Promise<{ items: T[]; nextToken?: string }>,
): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await read(token);
    ids.push(...page.items.map((item) => item.id));
    token = page.nextToken;
    pages++;
  } while (token !== undefined && pages < 200);
  return { ids, pages };
}

export const NOW = Date.parse("2026-01-01T00:10:00.000Z");
