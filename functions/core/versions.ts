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
  /** The caller checked the versions up to this number for `meta.eventKey` already. */
  readonly dedupedThrough?: number;
  /**
   * im-edit's own edit, which the provider just applied over whatever it had: never stale, and the head's
   * provider time never goes back (clock skew against the provider's times).
   */
  readonly current?: boolean;
}

/**
 * Whether an event at `eventAt` with content `hash` takes the head's place (provider order, not arrival
 * order). Without provider times on both sides, arrival order decides. Equal times tie-break on the
 * content hash, so every arrival order converges on the same head.
 */
export function supersedes(
  eventAt: number | undefined,
  hash: string,
  head: Pick<MessageHead, "eventAt" | "contentHash">,
): boolean {
  if (eventAt === undefined || head.eventAt === undefined) return true;
  if (eventAt !== head.eventAt) return eventAt > head.eventAt;
  return hash >= (head.contentHash ?? "");
}

/**
 * Appends the next version. The version item (put only if its number is free) is the serialization
 * point: two writers racing for number n+1 cannot both win, and the loser retries as n+2. The head is
 * then brought forward with a revision check; a head left behind by a crash is repaired on the way.
 * An event older (by provider time) than the head's is written `stale`: the head takes its number but
 * keeps its content.
 */
export async function appendVersion(
  store: MessageStore,
  id: string,
  /** The new content, or how to derive it from the head it lands on (an edit laid over a newer version). */
  contentFor: Content | ((head: MessageHead | undefined) => Content),
  meta: VersionMeta,
  options: AppendOptions,
): Promise<{ head: MessageHead; version: Version } | "duplicate"> {
  let dedupedThrough = options.dedupedThrough ?? -1;
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const head = attempt === 0 && options.head ? options.head : await store.getHead(id);
    if (!head && !options.newHead) throw new NotFoundError(`no message ${id}`);
    const content = typeof contentFor === "function" ? contentFor(head) : contentFor;
    const hash = contentHash(content);
    if (options.skipIfSame && head?.contentHash === hash) {
      // Nothing to record; a newer provider event with the same content moves the head's time forward,
      // so an event from between the two arriving later stays stale.
      if (meta.eventAt === undefined || (head.eventAt !== undefined && head.eventAt >= meta.eventAt)) {
        return "duplicate";
      }
      const advanced = {
        ...head,
        eventAt: meta.eventAt,
        updatedAt: options.now().toISOString(),
        rev: head.rev + 1,
      };
      if (await store.putHead(advanced, head.rev)) return "duplicate";
      continue; // the head changed meanwhile: decide again on the new one
    }
    // A provider event is recorded once: versions that appeared since the caller (or the last conflict)
    // looked are checked for it before a new number is taken (version 1 is in the head itself).
    if (meta.eventKey !== undefined && head !== undefined && head.version > dedupedThrough) {
      if (head.version <= 1) {
        if (head.first?.eventKey === meta.eventKey) return "duplicate";
        dedupedThrough = head.version;
      } else {
        const recent = await store.recentVersions(id, RECENT_DEPTH);
        if (recent.some((existing) => existing.eventKey === meta.eventKey)) return "duplicate";
        dedupedThrough = recent[0]?.version ?? dedupedThrough;
      }
    }
    const stale =
      !options.current && head !== undefined && head.version > 0 && !supersedes(meta.eventAt, hash, head);
    const version: Version = {
      ...meta,
      version: (head?.version ?? 0) + 1,
      content,
      contentHash: hash,
      ...(stale ? { stale: true as const } : {}),
    };
    if (version.version === 1) {
      // Version 1 lives in the head: the head write itself is the serialization point.
      const base = head ?? (options.newHead as () => MessageHead)();
      const next: MessageHead = {
        ...base,
        version: 1,
        state: base.state === "pending" ? "sent" : base.state,
        content,
        contentHash: hash,
        ...(meta.eventAt !== undefined ? { eventAt: meta.eventAt } : {}),
        first: version,
        updatedAt: options.now().toISOString(),
        rev: (head?.rev ?? 0) + 1,
      };
      if (head ? await store.putHead(next, head.rev) : (await store.createHead(next)) === undefined) {
        return { head: next, version };
      }
      continue; // someone else wrote the head first: decide again on theirs
    }
    if (!(await store.putVersion(id, version))) {
      // Taken: by someone else (retry as the next number), or by this same intent or provider event in an
      // earlier attempt or a concurrent delivery (then it is recorded: repair the head and stop).
      const recent = await store.recentVersions(id, RECENT_DEPTH);
      dedupedThrough = Math.max(dedupedThrough, recent[0]?.version ?? 0);
      await repairHead(store, id, options.now, recent);
      const mine = recent.find(
        (existing) =>
          (meta.intentId !== undefined && existing.intentId === meta.intentId) ||
          (meta.eventKey !== undefined && existing.eventKey === meta.eventKey),
      );
      if (mine?.intentId !== undefined && mine.intentId === meta.intentId) {
        const repaired = await store.getHead(id);
        if (repaired) return { head: repaired, version: mine };
      }
      if (mine) return "duplicate";
      continue;
    }
    let current = head;
    let written = version;
    for (let write = 0; write < MAX_WRITE_ATTEMPTS; write++) {
      const base = current ?? (options.newHead as () => MessageHead)();
      if (base.version >= version.version) return { head: base, version: written };
      // A newer event reached the head meanwhile (a head-only write): this version became stale.
      if (
        !options.current &&
        !written.stale &&
        current &&
        current.version > 0 &&
        !supersedes(meta.eventAt, hash, current)
      ) {
        written = { ...version, stale: true };
        await store.replaceVersion(id, written);
      }
      const next: MessageHead = {
        ...base,
        version: version.version,
        // A version means the provider delivered it: an edit proves a pending message was sent.
        state: base.state === "pending" ? "sent" : base.state,
        ...(written.stale
          ? {}
          : {
              content,
              contentHash: hash,
              ...(meta.eventAt !== undefined
                ? { eventAt: options.current ? Math.max(meta.eventAt, base.eventAt ?? 0) : meta.eventAt }
                : {}),
            }),
        updatedAt: options.now().toISOString(),
        rev: (current?.rev ?? 0) + 1,
      };
      if (await store.putHead(next, current?.rev)) return { head: next, version: written };
      current = await store.getHead(id);
    }
    throw contention(id);
  }
  throw contention(id);
}

/**
 * How many recent versions are read to repair a head (the newest that is not stale) and to recognise a
 * redelivered event by its key (one older than that is rare, and recorded as a stale version).
 */
export const RECENT_DEPTH = 20;

/**
 * Brings a head up to its newest version item (the head is only a cache of the versions), in provider
 * order: a version that does not supersede what the head shows (a newer event reached it meanwhile) only
 * advances the number, and is marked stale.
 */
export async function repairHead(
  store: MessageStore,
  id: string,
  now: () => Date,
  recent?: readonly Version[],
): Promise<void> {
  const versions = recent ?? (await store.recentVersions(id, RECENT_DEPTH));
  const [latest] = versions;
  if (!latest) return;
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const head = await store.getHead(id);
    if (!head || head.version >= latest.version) return;
    const missed = versions.filter((version) => version.version > head.version && !version.stale);
    const shown = missed.reduce<Version | undefined>(
      (best, version) =>
        best === undefined || supersedes(version.eventAt, version.contentHash, toHead(best)) ? version : best,
      undefined,
    );
    const takes =
      shown !== undefined && (head.version === 0 || supersedes(shown.eventAt, shown.contentHash, head));
    const repaired: MessageHead = {
      ...head,
      version: latest.version,
      ...(takes
        ? {
            content: shown.content,
            contentHash: shown.contentHash,
            ...(shown.eventAt !== undefined ? { eventAt: shown.eventAt } : {}),
          }
        : {}),
      state: head.state === "pending" ? "sent" : head.state,
      updatedAt: now().toISOString(),
      rev: head.rev + 1,
    };
    if (await store.putHead(repaired, head.rev)) {
      // Versions written as current that the head does not show are history now.
      for (const version of missed) {
        if (!takes || version !== shown) await store.replaceVersion(id, { ...version, stale: true });
      }
      return;
    }
  }
}

const toHead = (version: Version): Pick<MessageHead, "eventAt" | "contentHash"> => ({
  ...(version.eventAt !== undefined ? { eventAt: version.eventAt } : {}),
  contentHash: version.contentHash,
});

export const contention = (id: string) =>
  new ConflictError(`message ${id} is being changed concurrently`, {
    code: "write_contention",
    retryAfter: 1,
  });
