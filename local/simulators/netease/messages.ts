import { randomUUID } from "node:crypto";
import { type CopyBody, MSG_TYPES, messageCopy } from "./copies.ts";
import { Code, YunxinError } from "./errors.ts";
import { messageItem } from "./history.ts";
import {
  checkLength,
  type JsonObject,
  numberSource,
  optionalBoolean,
  optionalInteger,
  optionalObject,
  optionalString,
  rawNumber,
  requiredInteger,
  requiredObject,
  requiredString,
} from "./json.ts";
import type { EditLimiter } from "./rate.ts";
import { attachmentValue, type ConversationType, type MessageRecord, type MessageStore } from "./store.ts";

/** What a handler sees: the request has passed the header checks and, for POST, the JSON checks. */
export interface ApiContext {
  readonly nowMs: number;
  readonly store: MessageStore;
  readonly limiter: EditLimiter;
  readonly maxAgeMs: number;
}

/** A handled request: the answer's `data` and the copies the change triggers. */
export interface Handled {
  readonly data: JsonObject;
  readonly copies: readonly CopyBody[];
  /** False when a write changed nothing (modifyMsg with the stored content): not counted as applied. */
  readonly applied?: boolean;
}

const param = (msg: string) => new YunxinError(Code.param, msg);

// Limits (notes §2.2, §2.3 and the modifyMsg page): text 5000 for text/tip messages and 500 (a
// description) for the others, attachment 5000 as JSON, extension 1024 (the 2024 doc), push_content
// 500, push_payload 2048.
const TEXT_MAX = 5000;
const DESCRIPTION_MAX = 500;
const ATTACHMENT_MAX = 5000;
const EXTENSION_MAX = 1024;

/** A conversation id `a|type|b` (notes §3.1, §5). */
function parseConversationId(id: string): { first: string; type: ConversationType; second: string } {
  const parts = id.split("|");
  const [first = "", type = "", second = ""] = parts;
  if (parts.length !== 3 || first === "" || second === "" || !/^[123]$/.test(type)) {
    throw param("conversation_id must be sender|type|receiver with type 1, 2 or 3");
  }
  return { first, type: Number(type) as ConversationType, second };
}

/** The message fields shared by send and modify, validated (type-specific requirements by the caller). */
interface Content {
  readonly messageType: number;
  readonly subType: number | undefined;
  readonly text: string | undefined;
  readonly attachmentJson: string | undefined;
}

function readContent(message: JsonObject): Content {
  const messageType = requiredInteger(message, "message_type", "message.message_type");
  if (MSG_TYPES[messageType] === undefined) throw param("message.message_type is not a known message type");
  const subType = optionalInteger(message, "sub_type", "message.sub_type");
  if (subType !== undefined && subType <= 0) throw param("message.sub_type must be greater than 0");
  const text = optionalString(message, "text", "message.text");
  checkLength(text, messageType === 0 || messageType === 10 ? TEXT_MAX : DESCRIPTION_MAX, "message.text");
  const attachment = optionalObject(message, "attachment", "message.attachment");
  const attachmentJson = attachment === undefined ? undefined : JSON.stringify(attachment);
  checkLength(attachmentJson, ATTACHMENT_MAX, "message.attachment");
  return { messageType, subType: messageType === 100 ? subType : undefined, text, attachmentJson };
}

/** Top-level options shared by send and modify; answers whether the change is copied (route_enabled). */
function readOptions(body: JsonObject): { routeEnabled: boolean } {
  const route = optionalObject(body, "route_config");
  const routeEnabled =
    route === undefined ? undefined : optionalBoolean(route, "route_enabled", "route_config.route_enabled");
  if (route !== undefined) optionalString(route, "route_environment", "route_config.route_environment");
  const push = optionalObject(body, "push_config");
  if (push !== undefined) {
    checkLength(
      optionalString(push, "push_content", "push_config.push_content"),
      500,
      "push_config.push_content",
    );
    checkLength(
      optionalString(push, "push_payload", "push_config.push_payload"),
      2048,
      "push_config.push_payload",
    );
  }
  for (const key of ["message_config", "antispam_config", "p2p_option", "team_option", "superteam_option"]) {
    optionalObject(body, key);
  }
  return { routeEnabled: routeEnabled ?? true };
}

function readExtension(body: JsonObject): string | undefined {
  const extension = optionalString(body, "extension");
  checkLength(extension, EXTENSION_MAX, "extension");
  return extension;
}

/** `POST /im/v2/conversations/{conversation_id}/messages` (notes §3.1). */
export function sendMessage(context: ApiContext, conversationId: string, body: JsonObject): Handled {
  const { store, nowMs } = context;
  const conversation = parseConversationId(conversationId);
  const message = requiredObject(body, "message");
  const content = readContent(message);
  const clientId = optionalString(message, "message_client_id", "message.message_client_id");
  checkLength(clientId, 128, "message.message_client_id");
  const extension = readExtension(body);
  const { routeEnabled } = readOptions(body);
  const textual = content.messageType === 0 || content.messageType === 10;
  if (textual && (content.text === undefined || content.text === "")) {
    throw param("message.text is required for text and tip messages");
  }
  if (!textual && content.attachmentJson === undefined) {
    throw param("message.attachment is required for this message_type");
  }
  const team = conversation.type === 1 ? undefined : store.team(conversation.second);
  if (conversation.type !== 1 && team?.kind !== (conversation.type === 2 ? "team" : "superteam")) {
    throw new YunxinError(Code.teamNotFound, "team not found");
  }

  const record: MessageRecord = {
    message_server_id: store.nextServerId(),
    message_client_id: clientId || randomUUID(),
    conversation_type: conversation.type,
    sender_id: conversation.first,
    receiver_id: conversation.second,
    create_time: nowMs,
    message_type: content.messageType,
    recalled: false,
    modifications: 0,
  };
  if (content.subType !== undefined) record.sub_type = content.subType;
  if (content.text !== undefined) record.text = content.text;
  if (content.attachmentJson !== undefined) record.attachmentJson = content.attachmentJson;
  if (extension !== undefined) record.extension = extension;
  store.add(record);

  const data: JsonObject = {
    message_server_id: rawNumber(record.message_server_id),
    message_client_id: record.message_client_id,
    sender_id: record.sender_id,
    receiver_id: record.receiver_id,
    conversation_type: record.conversation_type,
    create_time: record.create_time,
    message_type: record.message_type,
    sub_type: record.sub_type,
    text: record.text,
    attachment: attachmentValue(record),
  };
  return { data, copies: routeEnabled ? [messageCopy(record, team)] : [] };
}

/** `POST /im/v2/messages/actions/modifyMsg` (notes §2 and the modifyMsg page). */
export function modifyMessage(context: ApiContext, body: JsonObject): Handled {
  const { store, nowMs, limiter, maxAgeMs } = context;
  // 1. Shape and limits (414).
  const operator = requiredString(body, "operator");
  const type = requiredInteger(body, "type");
  if (type !== 1 && type !== 2 && type !== 3) throw param("type must be 1, 2 or 3");
  const extension = readExtension(body);
  const message = requiredObject(body, "message");
  const idSource = numberSource(message.message_server_id);
  if (message.message_server_id === undefined) throw param("message.message_server_id is missing");
  if (idSource === undefined || !/^[1-9]\d{0,18}$/.test(idSource) || BigInt(idSource) > 2n ** 63n - 1n) {
    throw param("message.message_server_id must be a JSON integer number (a 64-bit Long)");
  }
  const receiverId = requiredString(message, "receiver_id", "message.receiver_id");
  const time = requiredInteger(message, "time", "message.time");
  const senderId = requiredString(message, "sender_id", "message.sender_id");
  const content = readContent(message);
  // The modifyMsg page: text "对于文本消息和提示消息,该字段必填", attachment "对于非文本消息/提示消息,该字段必填".
  if (content.messageType === 0 || content.messageType === 10) {
    if (content.text === undefined || content.text === "") {
      throw param("message.text is required for text and tip messages");
    }
  } else if (content.attachmentJson === undefined) {
    throw param("message.attachment is required for this message_type");
  }
  const { routeEnabled } = readOptions(body);

  // 2. The message, exactly as identified (404 / 414).
  const record = store.get(idSource);
  if (record === undefined) {
    if (store.isRoundingOfKnownId(idSource)) {
      throw param("message.message_server_id does not match the original exactly (rounded to a double?)");
    }
    throw new YunxinError(Code.notFound, "message not found");
  }
  if (record.recalled) throw new YunxinError(Code.recalled, "message not found: it was recalled");
  if (type !== record.conversation_type) throw param("type must equal the original conversation type");
  if (receiverId !== record.receiver_id) throw param("message.receiver_id must equal the original receiver");
  if (time !== record.create_time) throw param("message.time must equal the original send time (ms)");
  if (senderId !== record.sender_id) throw param("message.sender_id must equal the original sender");
  if (content.messageType !== record.message_type) {
    throw param("message.message_type must equal the original message type");
  }
  if (nowMs - record.create_time > maxAgeMs) {
    throw new YunxinError(Code.tooOld, "only messages sent within the last 7 days can be modified");
  }

  // 3. Permission: the sender, or for teams the owner (403).
  const team = record.conversation_type === 1 ? undefined : store.team(record.receiver_id);
  if (operator !== record.sender_id && operator !== team?.owner) {
    throw new YunxinError(Code.forbidden, "operator has no permission to modify this message");
  }

  // 4. At most N edits of one message per rolling second (107449).
  if (!limiter.allows(record.message_server_id, nowMs)) {
    throw new YunxinError(Code.tooFrequent, "the message was modified too frequently");
  }

  // 5. Nothing to change: success, but `data` without modify_account_id / modify_time
  // ("只有消息被更新才会返回该字段"), no copy, nothing applied. What makes Yunxin leave a message
  // "not updated" is not documented; a request equal to the stored message is this simulator's reading.
  const unchanged =
    (content.text === undefined || content.text === record.text) &&
    (content.attachmentJson === undefined || content.attachmentJson === record.attachmentJson) &&
    (content.subType === undefined || content.subType === record.sub_type) &&
    (extension === undefined || extension === record.extension);
  if (unchanged) return { data: modifyData(record), copies: [], applied: false };

  // Apply: overwrite what was sent.
  limiter.record(record.message_server_id, nowMs);
  if (content.text !== undefined) record.text = content.text;
  if (content.attachmentJson !== undefined) record.attachmentJson = content.attachmentJson;
  if (content.subType !== undefined) record.sub_type = content.subType;
  if (extension !== undefined) record.extension = extension;
  record.modify_account_id = operator;
  record.modify_time = nowMs;
  record.modifications += 1;

  const data: JsonObject = {
    modify_account_id: operator,
    modify_time: nowMs,
    ...modifyData(record),
  };
  return { data, copies: routeEnabled ? [messageCopy(record, team)] : [] };
}

/** modifyMsg's `data` (the Java SDK's ModifyMessageResponseV2) without the modification fields. */
function modifyData(record: MessageRecord): JsonObject {
  return {
    message_server_id: rawNumber(record.message_server_id),
    sender_id: record.sender_id,
    receiver_id: record.receiver_id,
    create_time: record.create_time,
    message_type: record.message_type,
    sub_type: record.sub_type,
    text: record.text,
    attachment: attachmentValue(record),
    extension: record.extension,
  };
}

/** `GET /im/v2.1/conversations/{conversation_id}/messages/{message_server_id}` (notes §5). */
export function queryMessage(
  context: ApiContext,
  conversationId: string,
  messageServerId: string,
  query: URLSearchParams,
): Handled {
  const conversation = parseConversationId(conversationId);
  if (!/^[1-9]\d{0,18}$/.test(messageServerId)) throw param("message_server_id must be a 64-bit integer");
  const messageTime = query.get("message_time");
  if (messageTime !== null && !/^\d{1,16}$/.test(messageTime))
    throw param("message_time must be milliseconds");
  const record = context.store.get(messageServerId);
  const inConversation =
    record !== undefined &&
    record.conversation_type === conversation.type &&
    (conversation.type === 1
      ? (record.sender_id === conversation.first && record.receiver_id === conversation.second) ||
        (record.sender_id === conversation.second && record.receiver_id === conversation.first)
      : record.receiver_id === conversation.second);
  if (
    record === undefined ||
    !inConversation ||
    record.recalled ||
    (messageTime !== null && Number(messageTime) !== record.create_time)
  ) {
    throw new YunxinError(Code.notFound, "message not found");
  }
  return { data: messageItem(record), copies: [] };
}
