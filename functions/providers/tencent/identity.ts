import { messageId } from "../../core/model.ts";

/**
 * Tencent message identity (ARCHITECTURE.md "Identity"). `TopicId: ""` and an absent TopicId are the
 * same topic-less message everywhere, so every function here normalizes it first.
 *
 * - C2C: SdkAppid + From_Account + To_Account + MsgKey (MsgKey alone repeats across batchsendmsg recipients)
 * - group: SdkAppid + GroupId + TopicId + MsgSeq
 * - group before MsgSeq exists (before-send, send exception): SdkAppid + GroupId + TopicId + From_Account + Random
 */
export const topicOf = (topicId: string | undefined): string => topicId ?? "";

export function c2cId(appId: string, from: string, to: string, msgKey: string): string {
  return messageId("c2c", ["tencent", appId, "c2c", from, to, msgKey]);
}

export function groupMessageId(
  appId: string,
  groupId: string,
  topicId: string | undefined,
  msgSeq: number,
): string {
  return messageId("grp", ["tencent", appId, "group", groupId, topicOf(topicId), String(msgSeq)]);
}

export function provisionalGroupId(
  appId: string,
  groupId: string,
  topicId: string | undefined,
  from: string,
  random: number,
): string {
  return messageId("pgrp", [
    "tencent",
    appId,
    "group-provisional",
    groupId,
    topicOf(topicId),
    from,
    String(random),
  ]);
}

/** Index entries for natural-key lookups: C2C by MsgKey (several recipients may share one), group by seq. */
export const c2cLookupKey = (msgKey: string): string => `c2c|${msgKey}`;
export const groupLookupKey = (groupId: string, msgSeq: number | string): string =>
  `group|${groupId}|${msgSeq}`;

/**
 * One percent-encoded part of a conversation id. Callbacks with ill-formed text are refused before they
 * get here (json.ts); `toWellFormed` only makes sure no input can make `encodeURIComponent` throw.
 */
const part = (value: string): string => encodeURIComponent(value.toWellFormed());

/** Conversation ids: a C2C pair is the same conversation whichever side sends. */
export function c2cConversation(a: string, b: string): string {
  const [x, y] = a <= b ? [a, b] : [b, a];
  return `c2c:${part(x)}:${part(y)}`;
}

export function groupConversation(groupId: string, topicId: string | undefined): string {
  const topic = topicOf(topicId);
  return `group:${part(groupId)}${topic === "" ? "" : `:${part(topic)}`}`;
}
