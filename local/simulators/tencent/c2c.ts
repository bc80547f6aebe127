import { randomInt } from "node:crypto";
import { customData, modify, readChange } from "./change.ts";
import { parseMsgBody } from "./elements.ts";
import { Code, TencentError } from "./errors.ts";
import {
  forbids,
  type JsonObject,
  optionalString,
  optionalUint32,
  requireInteger,
  requireMsgKey,
  requireString,
  requireUint32,
} from "./fields.ts";
import { type ApiSpec, seconds, takeWithinBudget } from "./handler.ts";
import { markRecalled } from "./store.ts";

/** Recalled messages stay in roaming history, flagged (tencent-chat-notes §5.4). */
const RECALLED_FLAG = 8;

/**
 * `v4/openim/sendmsg`: stores the message with MsgKey `<MsgSeq>_<MsgRandom>_<MsgTime>` (§3) and reports
 * it with C2C.CallbackAfterSendMsg. A repeat of a send made within 120 s (same sender, recipient, MsgSeq,
 * MsgRandom and content) answers the original message and sends no callback: Tencent's de-dup (§3, which
 * leaves the recipient out; kept in here so a reused MsgRandom never answers another recipient's key).
 */
export const sendMsg: ApiSpec = {
  service: "openim",
  command: "sendmsg",
  carriesMessage: true,
  echoes: false,
  handle({ admin, nowMs, store }, body) {
    // Without From_Account the admin calling the API is the sender (sendmsg page).
    const from = optionalString(body, "From_Account", Code.fromAccount) ?? admin;
    if (from === "") throw new TencentError(Code.fromAccount, "From_Account is empty");
    const to = requireString(body, "To_Account", Code.toAccount);
    const msgRandom = requireUint32(body, "MsgRandom", Code.msgRandom);
    // MsgSeq is the sender's to choose; Tencent fills a random one when it is absent (§3).
    const msgSeq = optionalUint32(body, "MsgSeq", Code.invalidRequest) ?? randomInt(0, 2 ** 32);
    const msgBody = parseMsgBody(body.MsgBody);
    const cloudCustomData = optionalString(body, "CloudCustomData", Code.msgFormat);
    const quiet = forbids(body, "ForbidAfterSendMsgCallback", Code.invalidRequest);

    const draft = { from, to, msgSeq, msgRandom, msgTime: seconds(nowMs), msgBody, cloudCustomData, nowMs };
    const duplicate = store.duplicateOf(draft);
    const message = duplicate ?? store.addC2C(draft);
    const answer = { MsgTime: message.MsgTime, MsgKey: message.MsgKey, MsgId: message.MsgId };
    if (duplicate !== undefined || quiet) return { answer };
    return {
      answer,
      callbacks: [
        {
          command: "C2C.CallbackAfterSendMsg",
          body: {
            From_Account: message.From_Account,
            To_Account: message.To_Account,
            MsgSeq: message.MsgSeq,
            MsgRandom: message.MsgRandom,
            MsgTime: message.MsgTime,
            MsgKey: message.MsgKey,
            MsgId: message.MsgId,
            OnlineOnlyFlag: 0,
            MsgBody: message.MsgBody,
            ...customData(message.CloudCustomData),
            SendMsgResult: 0,
            ErrorInfo: "send msg succeed",
            UnreadMsgNum: store.receivedBy(message.To_Account),
            EventTime: nowMs,
          },
        },
      ],
    };
  },
};

/** `v4/openim/modify_c2c_msg` (modify_c2c_msg page; §2.7 for its callback). */
export const modifyC2CMsg: ApiSpec = {
  service: "openim",
  command: "modify_c2c_msg",
  carriesMessage: true,
  echoes: true,
  handle(context, body) {
    const from = requireString(body, "From_Account", Code.fromAccount);
    const to = requireString(body, "To_Account", Code.toAccount);
    const msgKey = requireMsgKey(body);
    const change = readChange(body, context.nowMs);
    const message = context.store.c2c(from, to, msgKey);
    return modify(context, message, change, "C2C.CallbackAfterModifyMsg", (m) => ({
      From_Account: m.From_Account,
      To_Account: m.To_Account,
      MsgRandom: m.MsgRandom,
      MsgSeq: m.MsgSeq,
      MsgTime: m.MsgTime,
      MsgKey: m.MsgKey,
    }));
  },
};

/**
 * `v4/openim/admin_getroammsg` (§5.4): both directions of the pair within [MinTime, MaxTime], newest
 * first, pages of MaxCnt within ~13 KB. Continue with MaxTime = LastMsgTime and LastMsgKey. Recalled
 * messages keep their body here (whether Tencent blanks it is not documented). Only messages sent within
 * the roaming window (`roamingDays`, default 7) are there.
 */
export const adminGetRoamMsg: ApiSpec = {
  service: "openim",
  command: "admin_getroammsg",
  carriesMessage: false,
  echoes: false,
  handle({ store, nowMs, roamingMs }, body) {
    const operator = requireString(body, "Operator_Account", Code.fromAccount);
    const peer = requireString(body, "Peer_Account", Code.toAccount);
    const maxCnt = requireInteger(body, "MaxCnt", Code.invalidRequest, 1);
    const minTime = requireInteger(body, "MinTime", Code.invalidRequest, 0);
    const maxTime = requireInteger(body, "MaxTime", Code.invalidRequest, 0);
    const lastMsgKey = optionalString(body, "LastMsgKey", Code.msgKey) || undefined;

    const inRange = store
      .conversation(operator, peer)
      .filter((m) => m.MsgTime >= minTime && m.MsgTime <= maxTime && m.sentAtMs >= nowMs - roamingMs);
    const start = lastMsgKey === undefined ? 0 : inRange.findIndex((m) => m.MsgKey === lastMsgKey) + 1;
    const rest = inRange.slice(start).map((m) => ({
      From_Account: m.From_Account,
      To_Account: m.To_Account,
      MsgSeq: m.MsgSeq,
      MsgRandom: m.MsgRandom,
      MsgTimeStamp: m.MsgTime,
      MsgFlagBits: m.recalled ? RECALLED_FLAG : 0,
      IsPeerRead: 0,
      MsgKey: m.MsgKey,
      MsgBody: m.MsgBody,
      ...customData(m.CloudCustomData),
    }));
    const { taken } = takeWithinBudget(rest, maxCnt);
    const last = taken.at(-1);
    return {
      answer: {
        Complete: taken.length === rest.length ? 1 : 0,
        MsgCnt: taken.length,
        LastMsgTime: last?.MsgTimeStamp ?? 0,
        LastMsgKey: last?.MsgKey ?? "",
        MsgList: taken,
      },
    };
  },
};

/** `v4/openim/admin_msgwithdraw` (§5.6; callback §2.5). */
export const adminMsgWithdraw: ApiSpec = {
  service: "openim",
  command: "admin_msgwithdraw",
  carriesMessage: false,
  echoes: false,
  handle({ nowMs, store }, body: JsonObject) {
    const from = requireString(body, "From_Account", Code.fromAccount);
    const to = requireString(body, "To_Account", Code.toAccount);
    const msgKey = requireMsgKey(body);
    const message = store.c2c(from, to, msgKey);
    if (message === undefined) throw new TencentError(Code.messageNotFound, "message not found");
    if (message.recalled) throw new TencentError(Code.messageRecalled, "message has already been recalled");
    markRecalled(message, nowMs);
    return {
      callbacks: [
        {
          command: "C2C.CallbackAfterMsgWithDraw",
          body: { From_Account: from, To_Account: to, MsgKey: msgKey, EventTime: nowMs },
        },
      ],
    };
  },
};

export const C2C_APIS: readonly ApiSpec[] = [sendMsg, modifyC2CMsg, adminGetRoamMsg, adminMsgWithdraw];
