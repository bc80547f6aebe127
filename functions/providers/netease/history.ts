import { BadRequestError, isAppError } from "../../core/errors.ts";
import type { HistoryItem, HistoryPage, HistoryQuery } from "../../core/provider.ts";
import { logger } from "../../logger.ts";
import * as z from "../../zod.ts";
import { ConversationCopy, MESSAGE_TYPES } from "./callback.ts";
import { contentOf, observedCopy } from "./provider.ts";
import type { NeteaseReply, NeteaseRestClient } from "./rest.ts";

/**
 * Reconcile's reading of Yunxin's history (netease-yunxin-notes §5 "Page history"):
 * `GET /im/v2.1/conversations/{conversation_id}/messages` with `begin_time`, `end_time` (ms), `limit`
 * (at most 100) and `page_token`, one provider call per page (two on a team's first page when the team
 * turns out to be a super team). Each item is turned into the conversation copy Yunxin would have sent
 * for it and observed exactly like one (provider.ts), so a reconciled record has the copy's id and key.
 * Recalled messages are not in Yunxin's history (they are deleted there): reconcile cannot see them.
 */

const PAGE_LIMIT = 100;
/** Yunxin conversation types (§2.1): 1 P2P, 2 advanced team, 3 super team. */
const CONV_TYPES = new Map([
  [1, "PERSON"],
  [2, "TEAM"],
  [3, "SUPER_TEAM"],
] as const);
/** message_type → the copy's msgType name (the inverse of callback.ts MESSAGE_TYPES). */
const TYPE_NAMES: ReadonlyMap<number, string> = new Map(
  [...MESSAGE_TYPES].map(([name, type]) => [type, name]),
);
/** "team not found" (§1.4): the team id is a super team's, or no team at all. */
const TEAM_NOT_FOUND = 803;

/** Our page token: which conversation type answered, and Yunxin's own token. */
const Token = z.object({ type: z.union([z.literal(1), z.literal(2), z.literal(3)]), page: z.string() });
type Token = z.infer<typeof Token>;

const Id = z.union([z.string().check(z.regex(/^\d{1,20}$/)), z.number().check(z.int(), z.minimum(0))]);
const Item = z.looseObject({
  message_server_id: Id,
  message_client_id: z.optional(z.string()),
  conversation_type: z.optional(z.number()),
  sender_id: z.string(),
  receiver_id: z.optional(z.string()),
  team_id: z.optional(Id),
  message_type: z.number().check(z.int()),
  create_time: z.number().check(z.int(), z.minimum(0)),
  text: z.optional(z.nullable(z.string())),
  attachment: z.optional(z.nullable(z.record(z.string(), z.unknown()))),
  extension: z.optional(z.nullable(z.string())),
  modify_time: z.optional(z.nullable(z.number())),
});
type Item = z.infer<typeof Item>;

export interface NeteaseHistoryConfig {
  readonly appKey: string;
  readonly rest: NeteaseRestClient;
  /** The account a team's history is read as (`owner|2|tid`): NETEASE_OPERATOR, e.g. the team's owner. */
  readonly operator?: string;
}

export function neteaseHistoryProblem(config: NeteaseHistoryConfig, query: HistoryQuery): string | undefined {
  if (query.topicId) return "Yunxin has no topics: reconcile a pair or a team (groupId)";
  if (query.groupId !== undefined && config.operator === undefined) {
    return "Yunxin reads a team's history as one of its members: set NETEASE_OPERATOR to a member (e.g. the team's owner)";
  }
  if (query.groupId !== undefined && !/^\d{1,20}$/.test(query.groupId)) {
    return "a Yunxin team id (groupId) is decimal digits";
  }
  return undefined;
}

export async function neteaseHistory(
  config: NeteaseHistoryConfig,
  query: HistoryQuery,
  pageToken: string | undefined,
  deadline: number,
): Promise<HistoryPage> {
  const problem = neteaseHistoryProblem(config, query);
  if (problem !== undefined) throw new BadRequestError(problem);
  const token = pageToken === undefined ? undefined : decodeToken(pageToken);
  if (query.pair !== undefined) {
    const [a, b] = query.pair;
    return page(config, query, { type: 1, owner: a, other: b }, token?.page, deadline);
  }
  if (query.groupId === undefined)
    throw new BadRequestError("a Yunxin history query needs a pair or a groupId");
  const owner = config.operator ?? "";
  const team = { owner, other: query.groupId };
  if (token !== undefined) return page(config, query, { ...team, type: token.type }, token.page, deadline);
  try {
    return await page(config, query, { ...team, type: 2 }, undefined, deadline);
  } catch (error: unknown) {
    // The id does not say whether it is an advanced team or a super team: Yunxin's answer does.
    if (!isAppError(error) || error.providerCode !== TEAM_NOT_FOUND) throw error;
    return page(config, query, { ...team, type: 3 }, undefined, deadline);
  }
}

async function page(
  config: NeteaseHistoryConfig,
  query: HistoryQuery,
  conversation: { type: 1 | 2 | 3; owner: string; other: string },
  yunxinToken: string | undefined,
  deadline: number,
): Promise<HistoryPage> {
  if (query.since >= query.until) return { items: [] };
  const id = encodeURIComponent(`${conversation.owner}|${conversation.type}|${conversation.other}`);
  // Whether Yunxin's bounds are inclusive is not documented: ask for one ms more on each side, keep [since, until).
  const params = new URLSearchParams({
    begin_time: String(Math.max(0, query.since - 1)),
    end_time: String(query.until),
    limit: String(PAGE_LIMIT),
    ...(yunxinToken !== undefined ? { page_token: yunxinToken } : {}),
  });
  const reply = await config.rest.call("GET", `/im/v2.1/conversations/${id}/messages?${params}`, undefined, {
    operation: "queryMessages",
    deadline,
    resendAfterSend: true,
    rateKeys: [`netease:${config.appKey}:queryMessages`],
  });
  const data = reply.data ?? {};
  const raw = Array.isArray(data.items) ? (data.items as unknown[]) : [];
  const items = raw
    .map((item) => historyItem(config.appKey, conversation.type, item))
    .filter((item): item is HistoryItem => item !== undefined)
    .filter((item) => {
      const sent = Date.parse(item.message.sentAt);
      return sent >= query.since && sent < query.until;
    });
  const next = nextToken(data);
  return next === undefined
    ? { items }
    : { items, nextToken: encodeToken({ type: conversation.type, page: next }) };
}

function nextToken(data: NeteaseReply["data"] & object): string | undefined {
  const token = data.next_token;
  return data.has_more === true && typeof token === "string" && token !== "" ? token : undefined;
}

/** A history item as the conversation copy Yunxin would have sent for it, observed like one. */
function historyItem(appKey: string, type: 1 | 2 | 3, raw: unknown): HistoryItem | undefined {
  const item = Item.safeParse(raw);
  if (!item.success) return skipped("unreadable");
  const value: Item = item.data;
  const convType = CONV_TYPES.get((value.conversation_type ?? type) as 1 | 2 | 3);
  const to = convType === "PERSON" ? value.receiver_id : value.team_id;
  if (convType === undefined || to === undefined) return skipped("no conversation");
  const copy = ConversationCopy.safeParse({
    eventType: "1",
    convType,
    to: String(to),
    fromAccount: value.sender_id,
    msgTimestamp: String(value.create_time),
    msgType: TYPE_NAMES.get(value.message_type) ?? String(value.message_type),
    msgidServer: String(value.message_server_id),
    ...(value.message_client_id ? { msgidClient: value.message_client_id } : {}),
    ...(typeof value.text === "string" ? { body: value.text } : {}),
    ...(value.attachment ? { attach: value.attachment } : {}),
    ...(typeof value.extension === "string" ? { ext: value.extension } : {}),
  });
  if (!copy.success) return skipped("not a valid message");
  const message = observedCopy(appKey, copy.data);
  if (message === undefined) return skipped("unknown conversation type");
  return {
    message,
    content: contentOf(copy.data),
    state: "sent",
    eventAt: typeof value.modify_time === "number" ? value.modify_time : value.create_time,
  };
}

function skipped(reason: string): undefined {
  logger.warn("history item skipped", { api: "queryMessages", reason });
  return undefined;
}

const encodeToken = (token: Token): string => Buffer.from(JSON.stringify(token)).toString("base64url");

function decodeToken(token: string): Token {
  try {
    const result = Token.safeParse(JSON.parse(Buffer.from(token, "base64url").toString("utf8")));
    if (result.success) return result.data;
  } catch {
    // falls through to the error below
  }
  throw new BadRequestError("the history page token is not one this provider issued");
}
