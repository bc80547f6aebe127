import type { MessageHead, ObservedMessage } from "./model.ts";

/** `recalled` and `failed` never go back; everything else moves forward to `next`. */
export function stickyState(
  current: MessageHead["state"] | undefined,
  next: MessageHead["state"],
): MessageHead["state"] {
  return current === "recalled" || current === "failed" ? current : next;
}

/**
 * What the head lacks of a message's identity: a tombstone (recall seen before send) or a head created by
 * an after-modify that arrived first (no sender, no group key details) lacks the send's details, and the
 * send fills them in. The send's time is the message's creation time. Empty when nothing is missing.
 */
export function missingIdentity(head: MessageHead, message: ObservedMessage): Partial<MessageHead> {
  const key = { ...message.key, ...head.key };
  return {
    ...(Object.keys(key).length !== Object.keys(head.key).length ? { key } : {}),
    ...(head.lookupKey === undefined && message.lookupKey !== undefined
      ? { lookupKey: message.lookupKey }
      : {}),
    ...(head.sender === undefined && message.sender !== undefined ? { sender: message.sender } : {}),
    ...(head.operator === undefined && message.operator !== undefined ? { operator: message.operator } : {}),
    ...(head.notEditable === undefined && message.notEditable !== undefined
      ? { notEditable: message.notEditable }
      : {}),
    ...(head.createdAt !== message.sentAt ? { createdAt: message.sentAt } : {}),
  };
}
