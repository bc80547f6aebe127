import { ConflictError, NotFoundError } from "./errors.ts";
import { type Content, contentHash, type MessageHead, type Version } from "./model.ts";
import type { MessageStore } from "./store.ts";

export const MAX_WRITE_ATTEMPTS = 8;

export type VersionMeta = Omit<Version, "version" | "content" | "contentHash">;

export interface AppendOptions {
  readonly now: () => Date;
  /** The head to create when the message has none yet (a callback for a message never seen). */
  readonly newHead?: () => MessageHead;
  /** Treat content equal to the newest version as a duplicate (callbacks); edits always append. */
  readonly skipIfSame?: boolean;
  /** The head as the caller just read it: the first attempt starts from it instead of reading again. */
  readonly head?: MessageHead;
}

/**
 * Appends the next version. The version item (put only if its number is free) is the serialization
 * point: two writers racing for number n+1 cannot both win, and the loser retries as n+2. The head is
 * then brought forward with a revision check; a head left behind by a crash is repaired on the way.
 */
export async function appendVersion(
  store: MessageStore,
  id: string,
  /** The new content, or how to derive it from the head it lands on (an edit laid over a newer version). */
  contentFor: Content | ((head: MessageHead | undefined) => Content),
  meta: VersionMeta,
  options: AppendOptions,
): Promise<{ head: MessageHead; version: Version } | "duplicate"> {
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const head = attempt === 0 && options.head ? options.head : await store.getHead(id);
    if (!head && !options.newHead) throw new NotFoundError(`no message ${id}`);
    const content = typeof contentFor === "function" ? contentFor(head) : contentFor;
    const hash = contentHash(content);
    if (options.skipIfSame && head?.contentHash === hash) return "duplicate";
    const version: Version = { ...meta, version: (head?.version ?? 0) + 1, content, contentHash: hash };
    if (!(await store.putVersion(id, version))) {
      // Taken: by someone else (retry as the next number), or by this same intent in an earlier attempt
      // whose head write failed (then it is ours: repair the head and stop).
      const existing = meta.intentId !== undefined ? await store.getVersion(id, version.version) : undefined;
      await repairHead(store, id, options.now);
      if (existing && existing.intentId === meta.intentId) {
        const repaired = await store.getHead(id);
        if (repaired) return { head: repaired, version: existing };
      }
      continue;
    }
    let current = head;
    for (let write = 0; write < MAX_WRITE_ATTEMPTS; write++) {
      const base = current ?? (options.newHead as () => MessageHead)();
      if (base.version >= version.version) return { head: base, version };
      const next: MessageHead = {
        ...base,
        version: version.version,
        content,
        contentHash: hash,
        updatedAt: options.now().toISOString(),
        rev: (current?.rev ?? 0) + 1,
      };
      if (await store.putHead(next, current?.rev)) return { head: next, version };
      current = await store.getHead(id);
    }
    throw contention(id);
  }
  throw contention(id);
}

/** Brings a head up to its newest version item (the head is only a cache of the versions). */
export async function repairHead(store: MessageStore, id: string, now: () => Date): Promise<void> {
  const [latest] = await store.recentVersions(id, 1);
  if (!latest) return;
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const head = await store.getHead(id);
    if (!head || head.version >= latest.version) return;
    const repaired: MessageHead = {
      ...head,
      version: latest.version,
      content: latest.content,
      contentHash: latest.contentHash,
      state: head.state === "pending" ? "sent" : head.state,
      updatedAt: now().toISOString(),
      rev: head.rev + 1,
    };
    if (await store.putHead(repaired, head.rev)) return;
  }
}

export const contention = (id: string) =>
  new ConflictError(`message ${id} is being changed concurrently`, {
    code: "write_contention",
    retryAfter: 1,
  });
