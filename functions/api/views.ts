import { isEditable, type MessageHead, type Version } from "../core/model.ts";
import type { ProviderEditor } from "../core/provider.ts";

/** The public record shape (ARCHITECTURE.md "HTTP contract"); storage-only fields stay inside. */
export function recordView(head: MessageHead) {
  return {
    id: head.id,
    provider: head.provider,
    appId: head.appId,
    kind: head.kind,
    key: head.key,
    conversation: head.conversation,
    ...(head.sender !== undefined ? { sender: head.sender } : {}),
    ...(head.operator !== undefined ? { operator: head.operator } : {}),
    state: head.state,
    version: head.version,
    content: head.content ?? {},
    editable: isEditable(head),
    ...(head.notEditable !== undefined ? { notEditableReason: head.notEditable } : {}),
    ...(head.sendError !== undefined ? { sendError: head.sendError } : {}),
    createdAt: head.createdAt,
    updatedAt: head.updatedAt,
  };
}

/** A version; `restorable` says whether `POST .../restore` can send it back (needs the provider's editor). */
export function versionView(version: Version, editor?: ProviderEditor) {
  const notRestorable = version.purged
    ? "its content was purged"
    : editor
      ? editor.notRestorable(version.content)
      : "editing this provider is not configured";
  return {
    version: version.version,
    content: version.content,
    contentHash: version.contentHash,
    source: version.source,
    ...(version.actor !== undefined ? { actor: version.actor } : {}),
    at: version.at,
    ...(version.ruleId !== undefined ? { ruleId: version.ruleId } : {}),
    ...(version.jobId !== undefined ? { jobId: version.jobId } : {}),
    ...(version.idempotencyKey !== undefined ? { idempotencyKey: version.idempotencyKey } : {}),
    ...(version.providerRequestId !== undefined ? { providerRequestId: version.providerRequestId } : {}),
    ...(version.purged !== undefined ? { purged: version.purged } : {}),
    restorable: notRestorable === undefined,
    ...(notRestorable !== undefined ? { notRestorableReason: notRestorable } : {}),
  };
}

/** Strong ETag of a record: its version number. */
export const etag = (head: MessageHead): string => `"${head.version}"`;
