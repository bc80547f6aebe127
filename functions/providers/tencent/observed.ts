import type { MessageKey, ObservedMessage } from "../../core/model.ts";
import { LIVE_GROUP_TYPES } from "./callback.ts";
import {
  c2cConversation,
  c2cId,
  c2cLookupKey,
  groupConversation,
  groupLookupKey,
  groupMessageId,
  provisionalGroupId,
  topicOf,
} from "./identity.ts";

/**
 * How a Tencent message is observed, whichever way it arrives (a callback, the history APIs): one
 * builder per kind, so a record reconciled from history has the id, key and conversation a callback
 * would have given it.
 */
export const isLiveGroup = (type: unknown): type is string =>
  typeof type === "string" && LIVE_GROUP_TYPES.has(type);

export interface C2CFields {
  readonly From_Account: string;
  readonly To_Account: string;
  readonly MsgKey: string;
  readonly MsgId?: string | undefined;
  readonly MsgSeq?: number | undefined;
  readonly MsgRandom?: number | undefined;
  readonly MsgTime?: number | undefined;
}

export function c2cObserved(appId: string, body: C2CFields, sentAt: string): ObservedMessage {
  return {
    id: c2cId(appId, body.From_Account, body.To_Account, body.MsgKey),
    provider: "tencent",
    appId,
    kind: "c2c",
    key: keyOf({
      from: body.From_Account,
      to: body.To_Account,
      msgKey: body.MsgKey,
      msgSeq: body.MsgSeq,
      msgRandom: body.MsgRandom,
      msgTime: body.MsgTime,
      msgId: body.MsgId,
    }),
    conversation: c2cConversation(body.From_Account, body.To_Account),
    sender: body.From_Account,
    lookupKey: c2cLookupKey(body.MsgKey),
    sentAt,
  };
}

export interface GroupFields {
  readonly GroupId: string;
  readonly TopicId?: string | undefined;
  readonly Type?: string | undefined;
  readonly MsgId?: string | undefined;
}

export function groupObserved(
  appId: string,
  body: GroupFields,
  seq: { MsgSeq: number; MsgTime?: number } | { From_Account: string; Random: number },
  extra: { sender?: string | undefined; operator?: string | undefined; random?: number },
  sentAt: string,
): ObservedMessage {
  const topicId = topicOf(body.TopicId);
  const known = "MsgSeq" in seq;
  return {
    id: known
      ? groupMessageId(appId, body.GroupId, topicId, seq.MsgSeq)
      : provisionalGroupId(appId, body.GroupId, topicId, seq.From_Account, seq.Random),
    provider: "tencent",
    appId,
    kind: "group",
    key: keyOf({
      groupId: body.GroupId,
      topicId: topicId === "" ? undefined : topicId,
      msgSeq: known ? seq.MsgSeq : undefined,
      msgTime: known ? seq.MsgTime : undefined,
      random: known ? extra.random : seq.Random,
      msgId: body.MsgId,
      groupType: body.Type,
    }),
    conversation: groupConversation(body.GroupId, topicId),
    ...(extra.sender !== undefined ? { sender: extra.sender } : {}),
    ...(extra.operator !== undefined && extra.operator !== extra.sender ? { operator: extra.operator } : {}),
    ...(isLiveGroup(body.Type)
      ? { notEditable: `Tencent cannot modify messages of ${body.Type} (live) groups` }
      : {}),
    ...(known ? { lookupKey: groupLookupKey(body.GroupId, seq.MsgSeq) } : {}),
    sentAt,
  };
}

/** Key fields as strings (ids stay exact whatever their size), absent ones dropped. */
function keyOf(fields: Record<string, string | number | undefined>): MessageKey {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) out[name] = String(value);
  return out;
}

export const isoFromSeconds = (seconds: number): string => new Date(seconds * 1000).toISOString();
