import { BadRequestError } from "../../core/errors.ts";
import { eventKeyOf } from "../../core/events.ts";
import type { Content, ObservedMessage } from "../../core/model.ts";
import type { CallbackProvider, CallbackRequest, KeyLookup } from "../../core/provider.ts";
import type { RecorderEvent } from "../../core/recorder-events.ts";
import { jsonProblem } from "../../json.ts";
import { logger } from "../../logger.ts";
import { parseWith } from "../../validation.ts";
import {
  CONVERSATIONS,
  ConversationCopy,
  MESSAGE_TYPES,
  NETEASE_OK,
  parseCopy,
  RecallCopy,
} from "./callback.ts";
import { neteaseConversation, neteaseId, neteaseLookupKey } from "./identity.ts";
import { type NeteaseForwardSettings, neteaseRelay } from "./relay.ts";
import { type NeteaseCopyAuth, verifyNeteaseCopy } from "./verify.ts";

export interface NeteaseProviderConfig extends NeteaseCopyAuth {
  /** The relay to the app's own message-copy handler (NETEASE_CALLBACK_FORWARD_URL), when set. */
  readonly forward?: NeteaseForwardSettings;
}

/** Message kinds Yunxin cannot edit even in an editable conversation. */
const NOT_EDITABLE_TYPES = new Set(["NOTIFICATION", "NRTC_NETCALL"]);

export function createNeteaseProvider(config: NeteaseProviderConfig): CallbackProvider {
  const appKey = config.appKey;

  const observed = (copy: ConversationCopy): ObservedMessage | undefined => observedCopy(appKey, copy);

  return {
    name: "netease",
    appId: appKey,
    // No `operator`: Yunxin's copies do not say who edited, so our own echoes are matched by content alone.
    ack: { status: 200, body: NETEASE_OK },
    // Message copies come after the send: there is nothing to decide, the answer is always the ack.
    reply: () => ({ status: 200, body: NETEASE_OK }),
    ...(config.forward ? { relay: neteaseRelay(config.forward) } : {}),

    verify(request: CallbackRequest): void {
      verifyNeteaseCopy(request.headers, request.body, config, request.receivedAt);
    },

    interpret(request: CallbackRequest): RecorderEvent[] {
      const copy = parseCopy(request.body);
      const at = request.receivedAt.toISOString();
      if (copy.eventType === "1") {
        const conversation = parseWith(ConversationCopy, copy, "invalid conversation message copy");
        const message = observed(conversation);
        if (!message) {
          logger.info("message copy of an unknown conversation type ignored", {
            convType: conversation.convType,
          });
          return [];
        }
        return [
          {
            type: "observed",
            message,
            content: contentOf(conversation),
            at,
            eventAt: copyTime(request),
            eventKey: eventKeyOf(request.body),
          },
        ];
      }
      if (copy.eventType === "7" || copy.eventType === "8") {
        const recall = parseWith(RecallCopy, copy, "invalid recall copy");
        const msgId = recall.deleteMsgid ?? recall.msgidServer ?? recall.msgid;
        if (msgId === undefined) {
          logger.warn("recall copy without a message id ignored", { eventType: copy.eventType });
          return [];
        }
        const actor = recall.from ?? recall.fromAccount;
        return [
          { type: "recalled", id: neteaseId(appKey, msgId), ...(actor !== undefined ? { actor } : {}), at },
        ];
      }
      logger.info("message copy event not recorded", {
        eventType: String(copy.eventType ?? "").slice(0, 64),
      });
      return [];
    },

    lookup(appId, params): KeyLookup | undefined {
      const { msgId } = params;
      if (msgId === undefined) return undefined;
      if (!/^\d{1,20}$/.test(msgId))
        throw new BadRequestError("msgId must be Yunxin's decimal message server id");
      return { id: neteaseId(appId, msgId), lookupKey: neteaseLookupKey(msgId), matches: () => true };
    },
  };
}

/**
 * The message a conversation copy describes (undefined for a conversation type im-edit does not know).
 * Reconcile builds the same from a history item (history.ts), so both paths give one id and key.
 */
export function observedCopy(appKey: string, copy: ConversationCopy): ObservedMessage | undefined {
  const conversation = CONVERSATIONS.get(copy.convType);
  if (!conversation) return undefined;
  const messageType = MESSAGE_TYPES.get(copy.msgType);
  const notEditable = !conversation.editable
    ? `${copy.convType} messages are system notifications; Yunxin cannot edit them`
    : NOT_EDITABLE_TYPES.has(copy.msgType) || messageType === undefined
      ? `Yunxin cannot edit ${copy.msgType} messages`
      : undefined;
  return {
    id: neteaseId(appKey, copy.msgidServer),
    provider: "netease",
    appId: appKey,
    kind: conversation.kind,
    key: {
      msgId: copy.msgidServer,
      from: copy.fromAccount,
      to: copy.to,
      type: String(conversation.type),
      convType: copy.convType,
      msgType: copy.msgType,
      ...(messageType !== undefined ? { messageType: String(messageType) } : {}),
      time: copy.msgTimestamp,
      ...(copy.msgidClient ? { msgidClient: copy.msgidClient } : {}),
    },
    conversation: neteaseConversation(conversation.kind, copy.fromAccount, copy.to),
    sender: copy.fromAccount,
    ...(notEditable !== undefined ? { notEditable } : {}),
    lookupKey: neteaseLookupKey(copy.msgidServer),
    sentAt: new Date(Number(copy.msgTimestamp)).toISOString(),
  };
}

/**
 * Provider order for copies: a copy carries the message's send time but no edit time, so the time Yunxin
 * signed the copy (`CurTime`, ms, checked against the clock by verification) orders the copies of one
 * message; arrival time when it is missing.
 */
function copyTime(request: CallbackRequest): number {
  const signed = request.headers.curtime;
  return signed !== undefined && /^\d{1,15}$/.test(signed) ? Number(signed) : request.receivedAt.getTime();
}

/**
 * `body` is the text; `attach` (a JSON string, or an object as in Yunxin's samples) is kept as an object
 * when it is a JSON object the store can hold exactly, else as its raw text: not JSON, not an object,
 * or holding what DynamoDB cannot keep (an integer above 2^53 such as a Java long, nesting too deep, a
 * lone surrogate). Raw text loses nothing; a rounded number would.
 */
export function contentOf(copy: Pick<ConversationCopy, "body" | "attach" | "ext">): Content {
  const content: Record<string, unknown> = {};
  if (copy.body !== undefined && copy.body !== "") content.text = copy.body;
  if (copy.attach !== undefined && copy.attach !== "") {
    const text = typeof copy.attach === "string" ? copy.attach : JSON.stringify(copy.attach);
    const attachment = parseAttachment(text);
    if (attachment !== undefined) content.attachment = attachment;
    else content.attachmentRaw = text;
  }
  if (copy.ext !== undefined && copy.ext !== "") content.extension = copy.ext;
  return content;
}

function parseAttachment(text: string): Record<string, unknown> | undefined {
  let attachment: unknown;
  try {
    attachment = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (attachment === null || typeof attachment !== "object" || Array.isArray(attachment)) return undefined;
  return jsonProblem(attachment, { storable: true }) === undefined
    ? (attachment as Record<string, unknown>)
    : undefined;
}
