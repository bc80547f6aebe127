import { BadRequestError } from "../../core/errors.ts";
import type { Content } from "../../core/model.ts";
import type { HistoryItem, HistoryPage, HistoryQuery } from "../../core/provider.ts";
import { logger } from "../../logger.ts";
import * as z from "../../zod.ts";
import { MsgBody } from "./callback.ts";
import { c2cObserved, groupObserved, isoFromSeconds } from "./observed.ts";
import type { TencentRestClient } from "./rest.ts";

/**
 * Reconcile's reading of Tencent's history (tencent-chat-notes §5.4, §5.5), one provider call per page:
 * - C2C: `admin_getroammsg` for the pair over `[MinTime, MaxTime]` (seconds, both inclusive), newest
 *   first, continued with `MaxTime = LastMsgTime` and `LastMsgKey` until `Complete` is 1. Limited to
 *   the roaming window (7 days by default).
 * - group (and topic): `group_msg_get_simple` backwards by `ReqMsgSeq`, 20 per call, recalled messages
 *   included, until a message older than `since` or seq 1.
 * `[since, until)` is in ms; Tencent's send times are whole seconds (see `secondsOf`).
 */

/** admin_getroammsg has no documented maximum besides the ~13 KB answer; 100 is the docs' sample. */
const ROAM_PAGE = 100;
/** group_msg_get_simple: at most 20 per call (§5.5). */
const GROUP_PAGE = 20;
/** `MsgFlagBits` bit of a recalled C2C message; `IsPlaceMsg` 1 = hole (nothing to record), 2 = recalled. */
const RECALLED_FLAG = 8;
const PLACE_HOLE = 1;
const PLACE_RECALLED = 2;

const Seconds = z.number().check(z.int(), z.minimum(0), z.maximum(4_294_967_295));
const Uint32 = Seconds;

/** A roaming item, as far as reconcile reads it; anything else in it is ignored. */
const RoamItem = z.looseObject({
  From_Account: z.string().check(z.minLength(1)),
  To_Account: z.string().check(z.minLength(1)),
  MsgSeq: z.optional(Uint32),
  MsgRandom: z.optional(Uint32),
  MsgTimeStamp: Seconds,
  MsgFlagBits: z.optional(z.number()),
  MsgKey: z.string().check(z.minLength(1)),
  MsgBody: z.optional(MsgBody),
  CloudCustomData: z.optional(z.string()),
});
type RoamItem = z.infer<typeof RoamItem>;

const GroupItem = z.looseObject({
  From_Account: z.optional(z.string()),
  IsPlaceMsg: z.optional(z.number()),
  MsgSeq: z.number().check(z.int(), z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER)),
  MsgRandom: z.optional(Uint32),
  MsgTimeStamp: z.optional(Seconds),
  MsgBody: z.optional(MsgBody),
  CloudCustomData: z.optional(z.string()),
});
type GroupItem = z.infer<typeof GroupItem>;

/** Continuation of admin_getroammsg: the last page's LastMsgKey and LastMsgTime. */
const RoamToken = z.object({ key: z.string().check(z.minLength(1)), time: Seconds });

export function tencentHistoryProblem(query: HistoryQuery): string | undefined {
  if (query.pair !== undefined && query.topicId) return "topicId applies to groups only, not to a C2C pair";
  return undefined;
}

export function tencentHistory(
  rest: TencentRestClient,
  appId: string,
  query: HistoryQuery,
  pageToken: string | undefined,
  deadline: number,
): Promise<HistoryPage> {
  if (query.pair !== undefined) return c2cPage(rest, appId, query, query.pair, pageToken, deadline);
  if (query.groupId !== undefined) return groupPage(rest, appId, query, query.groupId, pageToken, deadline);
  throw new BadRequestError("a Tencent history query needs a pair or a groupId");
}

/**
 * `[since, until)` at Tencent's one-second precision, as Tencent's inclusive [MinTime, MaxTime]: both
 * floored to their second, as bulk job selectors do (jobs/selector.ts `sendTimeBounds`), so a message
 * sent in since's second is in and one sent in until's second is out.
 */
const secondsOf = (query: HistoryQuery) => ({
  min: Math.floor(query.since / 1000),
  max: Math.floor(query.until / 1000) - 1,
});

async function c2cPage(
  rest: TencentRestClient,
  appId: string,
  query: HistoryQuery,
  [a, b]: readonly [string, string],
  pageToken: string | undefined,
  deadline: number,
): Promise<HistoryPage> {
  const { min, max } = secondsOf(query);
  if (min > max) return { items: [] };
  const from = pageToken === undefined ? undefined : decodeToken(pageToken, RoamToken);
  const reply = await rest.call(
    "openim",
    "admin_getroammsg",
    {
      Operator_Account: a,
      Peer_Account: b,
      MaxCnt: ROAM_PAGE,
      MinTime: min,
      MaxTime: from?.time ?? max,
      ...(from !== undefined ? { LastMsgKey: from.key } : {}),
    },
    { deadline, resendAfterSend: true },
  );
  const list = Array.isArray(reply.MsgList) ? reply.MsgList : [];
  const items = list
    .map((raw) => parsed(RoamItem, raw, "admin_getroammsg"))
    .filter((item): item is RoamItem => item !== undefined)
    .filter((item) => item.MsgTimeStamp >= min && item.MsgTimeStamp <= max)
    .map((item) => c2cItem(appId, item));
  // Paging goes back in time; a continuation that does not (the same key again, a later time) would loop.
  const stalled =
    from !== undefined &&
    (reply.LastMsgKey === from.key ||
      (typeof reply.LastMsgTime === "number" && reply.LastMsgTime > from.time));
  const done =
    reply.Complete === 1 ||
    list.length === 0 ||
    stalled ||
    typeof reply.LastMsgKey !== "string" ||
    reply.LastMsgKey === "" ||
    typeof reply.LastMsgTime !== "number";
  return done
    ? { items }
    : {
        items,
        nextToken: encodeToken({ key: reply.LastMsgKey as string, time: reply.LastMsgTime as number }),
      };
}

function c2cItem(appId: string, item: RoamItem): HistoryItem {
  const message = c2cObserved(
    appId,
    {
      From_Account: item.From_Account,
      To_Account: item.To_Account,
      MsgKey: item.MsgKey,
      MsgSeq: item.MsgSeq,
      MsgRandom: item.MsgRandom,
      MsgTime: item.MsgTimeStamp,
    },
    isoFromSeconds(item.MsgTimeStamp),
  );
  return {
    message,
    content: contentOf(item),
    state: (Number(item.MsgFlagBits ?? 0) & RECALLED_FLAG) !== 0 ? "recalled" : "sent",
    eventAt: item.MsgTimeStamp * 1000,
  };
}

async function groupPage(
  rest: TencentRestClient,
  appId: string,
  query: HistoryQuery,
  groupId: string,
  pageToken: string | undefined,
  deadline: number,
): Promise<HistoryPage> {
  const { min, max } = secondsOf(query);
  if (min > max) return { items: [] };
  const upTo = pageToken === undefined ? undefined : decodeToken(pageToken, SeqToken);
  const reply = await rest.call(
    "group_open_http_svc",
    "group_msg_get_simple",
    {
      GroupId: groupId,
      ReqMsgNumber: GROUP_PAGE,
      ...(upTo !== undefined ? { ReqMsgSeq: upTo } : {}),
      WithRecalledMsg: 1,
      ...(query.topicId ? { TopicId: query.topicId } : {}),
    },
    { deadline, resendAfterSend: true },
  );
  const list = (Array.isArray(reply.RspMsgList) ? reply.RspMsgList : [])
    .map((raw) => parsed(GroupItem, raw, "group_msg_get_simple"))
    .filter((item): item is GroupItem => item !== undefined);
  const messages = list.filter(
    (item) => item.IsPlaceMsg !== PLACE_HOLE && item.MsgTimeStamp !== undefined && item.From_Account,
  );
  const items = messages
    .filter((item) => (item.MsgTimeStamp ?? 0) >= min && (item.MsgTimeStamp ?? 0) <= max)
    .map((item) => groupItem(appId, groupId, query.topicId, item));
  // Seqs grow with time in a group: once a message older than `since` shows, the rest is older still.
  const older = messages.some((item) => (item.MsgTimeStamp ?? 0) < min);
  const lowest = Math.min(...list.map((item) => item.MsgSeq));
  return older || list.length === 0 || lowest <= 1
    ? { items }
    : { items, nextToken: encodeToken(lowest - 1) };
}

const SeqToken = z.number().check(z.int(), z.minimum(1), z.maximum(Number.MAX_SAFE_INTEGER));

function groupItem(
  appId: string,
  groupId: string,
  topicId: string | undefined,
  item: GroupItem,
): HistoryItem {
  const msgTime = item.MsgTimeStamp ?? 0;
  const message = groupObserved(
    appId,
    { GroupId: groupId, TopicId: topicId },
    { MsgSeq: item.MsgSeq, MsgTime: msgTime },
    { sender: item.From_Account, ...(item.MsgRandom !== undefined ? { random: item.MsgRandom } : {}) },
    isoFromSeconds(msgTime),
  );
  return {
    message,
    content: contentOf(item),
    state: item.IsPlaceMsg === PLACE_RECALLED ? "recalled" : "sent",
    eventAt: msgTime * 1000,
  };
}

/** The content shape of the callback path (provider.ts): MsgBody, and CloudCustomData when present. */
const contentOf = (item: {
  MsgBody?: unknown[] | undefined;
  CloudCustomData?: string | undefined;
}): Content => ({
  ...(item.MsgBody !== undefined ? { MsgBody: item.MsgBody } : {}),
  ...(item.CloudCustomData !== undefined ? { CloudCustomData: item.CloudCustomData } : {}),
});

/** An item im-edit cannot read is left out (and logged without content), not a reason to lose the page. */
function parsed<T>(schema: z.ZodMiniType<T>, raw: unknown, api: string): T | undefined {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  logger.warn("history item skipped: unreadable", { api, issues: result.error.issues.length });
  return undefined;
}

const encodeToken = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");

function decodeToken<T>(token: string, schema: z.ZodMiniType<T>): T {
  try {
    const result = schema.safeParse(JSON.parse(Buffer.from(token, "base64url").toString("utf8")));
    if (result.success) return result.data;
  } catch {
    // falls through to the error below
  }
  throw new BadRequestError("the history page token is not one this provider issued");
}
