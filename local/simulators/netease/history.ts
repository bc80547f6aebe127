import { Code, YunxinError } from "./errors.ts";
import { type JsonObject, rawNumber } from "./json.ts";
import type { ApiContext, Handled } from "./messages.ts";
import { attachmentValue, type ConversationType, type MessageRecord } from "./store.ts";

/**
 * `GET /im/v2.1/conversations/{conversation_id}/messages` (分页查询历史消息, netease-yunxin-notes §5;
 * the Java SDK's QueryMessagesByPageRequestV2 / ResponseV2): the messages of one conversation with
 * `begin_time ≤ create_time ≤ end_time`, `limit` (1..100) per page, continued with `page_token`.
 *
 * - `begin_time`, `end_time` (ms) and `limit` are required; missing, not digits, begin after end, or a
 *   limit outside 1..100: 414.
 * - `descending`: Yunxin's quirk, `true` means ascending by time; absent or `false`, newest first.
 * - `message_type`: comma-separated message types to keep (digits, else 414).
 * - P2P conversations `a|1|b` show both directions. Teams `owner|2|tid` (`|3|` super teams): the team must
 *   exist with that kind (else 803), and with `check_team_valid` (default true) the owner must be one of
 *   its members (804).
 * - Recalled messages are not in the history (the simulator treats a recall as a deletion).
 * - `next_token` is opaque (the position after the page's last message, for this query only): a token
 *   from another query or a tampered one is 414. `has_more` false and `next_token` "" on the last page.
 */
const MAX_LIMIT = 100;

export function queryMessages(context: ApiContext, conversationId: string, query: URLSearchParams): Handled {
  const conversation = parseConversation(conversationId);
  const begin = requiredMillis(query, "begin_time");
  const end = requiredMillis(query, "end_time");
  if (begin > end) throw param("begin_time must not be after end_time");
  const limitText = query.get("limit");
  if (limitText === null || !/^\d{1,4}$/.test(limitText)) throw param("limit is required (1 to 100)");
  const limit = Number(limitText);
  if (limit < 1 || limit > MAX_LIMIT) throw param(`limit must be between 1 and ${MAX_LIMIT}`);
  const ascending = booleanParam(query, "descending") === true;
  const types = messageTypes(query.get("message_type"));
  const checkTeam = booleanParam(query, "check_team_valid") ?? true;

  const { store } = context;
  if (conversation.type !== 1) {
    const team = store.team(conversation.second);
    if (team === undefined || team.kind !== (conversation.type === 2 ? "team" : "superteam")) {
      throw new YunxinError(Code.teamNotFound, "team not found");
    }
    if (checkTeam && !team.members.includes(conversation.first)) {
      throw new YunxinError(Code.notInTeam, "the account is not a member of the team");
    }
  }

  const matching = store
    .all()
    .filter((record) => inConversation(record, conversation))
    .filter((record) => !record.recalled && record.create_time >= begin && record.create_time <= end)
    .filter((record) => types === undefined || types.has(record.message_type))
    .sort((x, y) => order(x, y) * (ascending ? 1 : -1));

  const scope = JSON.stringify([conversationId, begin, end, ascending, query.get("message_type")]);
  const start = query.get("page_token");
  const from = start === null || start === "" ? 0 : positionAfter(matching, start, scope, ascending);
  const page = matching.slice(from, from + limit);
  const more = from + page.length < matching.length;
  const last = page.at(-1);
  return {
    data: {
      has_more: more,
      next_token: more && last !== undefined ? tokenAfter(last, scope) : "",
      items: page.map(messageItem),
    },
    copies: [],
  };
}

const param = (msg: string) => new YunxinError(Code.param, msg);

function parseConversation(id: string): { first: string; type: ConversationType; second: string } {
  const parts = id.split("|");
  const [first = "", type = "", second = ""] = parts;
  if (parts.length !== 3 || first === "" || second === "" || !/^[123]$/.test(type)) {
    throw param("conversation_id must be owner|type|other with type 1, 2 or 3");
  }
  return { first, type: Number(type) as ConversationType, second };
}

function requiredMillis(query: URLSearchParams, name: string): number {
  const value = query.get(name);
  if (value === null || !/^\d{1,16}$/.test(value)) throw param(`${name} is required (milliseconds)`);
  return Number(value);
}

function booleanParam(query: URLSearchParams, name: string): boolean | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  if (value !== "true" && value !== "false") throw param(`${name} must be true or false`);
  return value === "true";
}

function messageTypes(value: string | null): ReadonlySet<number> | undefined {
  if (value === null || value === "") return undefined;
  if (!/^\d{1,3}(,\d{1,3})*$/.test(value)) throw param("message_type must be comma-separated integers");
  return new Set(value.split(",").map(Number));
}

function inConversation(
  record: MessageRecord,
  conversation: { first: string; type: ConversationType; second: string },
): boolean {
  if (record.conversation_type !== conversation.type) return false;
  if (conversation.type !== 1) return record.receiver_id === conversation.second;
  return (
    (record.sender_id === conversation.first && record.receiver_id === conversation.second) ||
    (record.sender_id === conversation.second && record.receiver_id === conversation.first)
  );
}

/** Oldest first: by send time, then by server id (ids grow with sends). */
function order(x: MessageRecord, y: MessageRecord): number {
  if (x.create_time !== y.create_time) return x.create_time - y.create_time;
  const a = BigInt(x.message_server_id);
  const b = BigInt(y.message_server_id);
  return a < b ? -1 : a > b ? 1 : 0;
}

function tokenAfter(record: MessageRecord, scope: string): string {
  const position = { time: record.create_time, id: record.message_server_id, scope };
  return Buffer.from(JSON.stringify(position)).toString("base64url");
}

/**
 * The index after the token's position in this query's order (found by time and id, so a message
 * recalled meanwhile does not lose the place); 414 for a token of another query or a tampered one.
 */
function positionAfter(
  matching: readonly MessageRecord[],
  token: string,
  scope: string,
  ascending: boolean,
): number {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw param("page_token is invalid");
  }
  const {
    time,
    id,
    scope: tokenScope,
  } = (decoded ?? {}) as { time?: unknown; id?: unknown; scope?: unknown };
  if (typeof time !== "number" || typeof id !== "string" || !/^\d{1,19}$/.test(id) || tokenScope !== scope) {
    throw param("page_token is invalid");
  }
  const mark = { create_time: time, message_server_id: id } as MessageRecord;
  const after = matching.findIndex((record) => order(record, mark) * (ascending ? 1 : -1) > 0);
  return after === -1 ? matching.length : after;
}

/** A message as Yunxin's query APIs show it (QueryMessagesByPageResponseV2.MessageItem, the single query). */
export function messageItem(record: MessageRecord): JsonObject {
  const data: JsonObject = {
    message_server_id: rawNumber(record.message_server_id),
    message_client_id: record.message_client_id,
    conversation_type: record.conversation_type,
    sender_id: record.sender_id,
  };
  if (record.conversation_type === 1) data.receiver_id = record.receiver_id;
  else data.team_id = rawNumber(record.receiver_id);
  Object.assign(data, {
    message_type: record.message_type,
    sub_type: record.sub_type,
    create_time: record.create_time,
    text: record.text,
    attachment: attachmentValue(record),
    extension: record.extension,
    modify_account_id: record.modify_account_id,
    modify_time: record.modify_time,
    sender_client_type: 32,
  });
  return data;
}
