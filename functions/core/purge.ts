import { type MessageHead, messageOf } from "./model.ts";
import type { Store } from "./store.ts";

/**
 * Removes the content of every version but the newest (what users see now), keeping each one's hash,
 * actor and time, and who purged it, when and why. The caller holds the message's lease.
 */
export async function purgeHistory(
  store: Store,
  head: MessageHead,
  purge: { readonly reason: string; readonly actor: string; readonly at: string },
): Promise<number> {
  let purged = 0;
  let nextToken: string | undefined;
  const redactKeys: string[] = [];
  do {
    const page = await store.listVersions(head.id, { limit: 100, ...(nextToken ? { nextToken } : {}) });
    for (const version of page.items) {
      if (version.purged || version.version >= head.version) continue;
      const { content: _, ...kept } = version;
      await store.replaceVersion(head.id, {
        ...kept,
        content: {},
        purged: { at: purge.at, by: purge.actor, reason: purge.reason },
      });
      if (version.idempotencyKey !== undefined) redactKeys.push(version.idempotencyKey);
      purged++;
    }
    nextToken = page.nextToken;
  } while (nextToken);
  // A replay of those edits' Idempotency-Keys must neither show the purged content nor run them again:
  // the key stays used, its remembered result becomes the message as it is now.
  for (const key of redactKeys) await store.replaceIdempotencyResult(key, { head: messageOf(head) });
  // A settled intent keeps the content before and after its edit until its TTL: it goes with the purge.
  const latest = await store.getHead(head.id);
  const intent = latest?.intent;
  if (intent?.state === "applied")
    await store.deleteIntent(head.id, intent.intentId, { evenIfApplied: true });
  // So does a before-send rewrite kept beside the record (the delivered content of version 1).
  if (latest?.rewrite !== undefined) {
    const current = intent?.state === "applied" ? await store.getHead(head.id) : latest;
    if (current) {
      const { rewrite: _, ...rest } = current;
      await store.putHead({ ...rest, rev: current.rev + 1 }, current.rev);
    }
  }
  return purged;
}
