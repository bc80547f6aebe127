import { randomBytes } from "node:crypto";
import { customData, modify, readChange } from "./change.ts";
import { parseMsgBody } from "./elements.ts";
import { Code, TencentError } from "./errors.ts";
import {
  forbids,
  type JsonObject,
  optionalInteger,
  optionalString,
  optionalTopic,
  requireInteger,
  requireString,
  requireUint32,
} from "./fields.ts";
import { type ApiContext, type ApiSpec, seconds, takeWithinBudget } from "./handler.ts";
import { GROUP_TYPES, type Group, type GroupType, markRecalled } from "./store.ts";

/** Group ids are at most 48 bytes (create_group page). */
const MAX_GROUP_ID_BYTES = 48;
const MAX_GROUP_NAME_BYTES = 100;
const MAX_RECALL = 10;
const MAX_GET_SIMPLE = 20;
/** group_msg_get_simple's IsPlaceMsg for a recalled message (§5.5). */
const PLACE_RECALLED = 2;

/**
 * `v4/group_open_http_svc/create_group` (Type, Name, optional GroupId). Custom ids may not use Tencent's
 * `@TGS#` prefix, except Community groups, whose custom ids must start with `@TGS#_`.
 */
export const createGroup: ApiSpec = {
  service: "group_open_http_svc",
  command: "create_group",
  carriesMessage: false,
  echoes: false,
  handle({ store }, body) {
    const type = body.Type;
    if (!isGroupType(type))
      throw new TencentError(Code.groupParam, `Type must be one of ${GROUP_TYPES.join(", ")}`);
    const name = requireString(body, "Name", Code.groupParam);
    if (Buffer.byteLength(name) > MAX_GROUP_NAME_BYTES)
      throw new TencentError(Code.groupParam, "Name is too long");
    const custom = optionalString(body, "GroupId", Code.groupIdInvalid);
    if (custom !== undefined) checkCustomGroupId(custom, type);
    const id = custom ?? generatedGroupId(type);
    if (store.group(id) !== undefined) throw new TencentError(Code.groupIdUsed, "GroupId is already in use");
    store.addGroup(id, type, name);
    return { answer: { GroupId: id } };
  },
};

/** `v4/group_open_http_svc/send_group_msg`: MsgSeq per group (and per topic) from 1 (§3). */
export const sendGroupMsg: ApiSpec = {
  service: "group_open_http_svc",
  command: "send_group_msg",
  carriesMessage: true,
  echoes: false,
  handle(context, body) {
    const { admin, nowMs, store } = context;
    const random = requireUint32(body, "Random", Code.groupParam);
    const msgBody = parseMsgBody(body.MsgBody);
    // Without From_Account the admin calling the API is the sender (send_group_msg page).
    const from = optionalString(body, "From_Account", Code.groupParam) ?? admin;
    if (from === "") throw new TencentError(Code.groupParam, "From_Account is empty");
    const cloudCustomData = optionalString(body, "CloudCustomData", Code.groupParam);
    const quiet = forbids(body, "ForbidAfterSendMsgCallback", Code.groupParam);
    const group = requireGroup(context, body);
    const topicId = topicOf(group, body);
    const message = store.addGroupMessage(group, {
      from,
      random,
      msgTime: seconds(nowMs),
      topicId,
      msgBody,
      cloudCustomData,
      nowMs,
    });
    const answer = { MsgTime: message.MsgTime, MsgSeq: message.MsgSeq };
    if (quiet) return { answer };
    return {
      answer,
      callbacks: [
        {
          command: "Group.CallbackAfterSendMsg",
          body: {
            GroupId: group.id,
            Type: group.type,
            From_Account: message.From_Account,
            Operator_Account: admin,
            Random: message.MsgRandom,
            MsgSeq: message.MsgSeq,
            MsgId: message.MsgId,
            MsgTime: message.MsgTime,
            OnlineOnlyFlag: 0,
            MsgBody: message.MsgBody,
            ...customData(message.CloudCustomData),
            ...(topicId !== undefined ? { TopicId: topicId } : {}),
            EventTime: nowMs,
          },
        },
      ],
    };
  },
};

/** `v4/openim/modify_group_msg` (note: the openim service), modify_group_msg page; callback §2.7. */
export const modifyGroupMsg: ApiSpec = {
  service: "openim",
  command: "modify_group_msg",
  carriesMessage: true,
  echoes: true,
  handle(context, body) {
    const msgSeq = requireInteger(body, "MsgSeq", Code.invalidRequest, 1);
    const change = readChange(body, context.nowMs);
    const group = requireGroup(context, body);
    // Documented as unsupported for live groups; the code is synthetic (Tencent's is not documented).
    if (group.type === "AVChatRoom") {
      throw new TencentError(Code.groupNoPermission, "messages of AVChatRoom groups cannot be modified");
    }
    const topicId = topicOf(group, body);
    const message = context.store.groupMessage(group, topicId, msgSeq);
    return modify(context, message, change, "Group.CallbackAfterModifyMsg", (m) => ({
      GroupId: group.id,
      TopicId: topicId ?? "",
      MsgSeq: m.MsgSeq,
    }));
  },
};

/**
 * `v4/group_open_http_svc/group_msg_get_simple` (§5.5): the ReqMsgNumber seqs ending at ReqMsgSeq (or
 * the newest), newest first. Recalled messages in that window are left out unless WithRecalledMsg is 1,
 * then returned with IsPlaceMsg 2. Not for AVChatRoom (code synthetic, as for modify).
 */
export const groupMsgGetSimple: ApiSpec = {
  service: "group_open_http_svc",
  command: "group_msg_get_simple",
  carriesMessage: false,
  echoes: false,
  handle(context, body) {
    const count = requireInteger(body, "ReqMsgNumber", Code.groupParam, 1, MAX_GET_SIMPLE);
    const upTo = optionalInteger(body, "ReqMsgSeq", Code.groupParam, 1);
    const withRecalled = optionalInteger(body, "WithRecalledMsg", Code.groupParam, 0, 1) === 1;
    const group = requireGroup(context, body);
    if (group.type === "AVChatRoom") {
      throw new TencentError(Code.groupNoPermission, "AVChatRoom groups have no message history");
    }
    const topicId = topicOf(group, body);
    const { store } = context;
    const newest = Math.min(upTo ?? Number.MAX_SAFE_INTEGER, store.lastSeq(group, topicId));
    const items = [];
    for (let seq = newest; seq > newest - count && seq >= 1; seq -= 1) {
      const m = store.groupMessage(group, topicId, seq);
      if (m === undefined || (m.recalled && !withRecalled)) continue;
      items.push({
        From_Account: m.From_Account,
        IsPlaceMsg: m.recalled ? PLACE_RECALLED : 0,
        IsSystemMsg: 0,
        MsgBody: m.MsgBody,
        ...customData(m.CloudCustomData),
        // Priorities are not simulated; 2 is Normal, the REST default.
        MsgPriority: 2,
        MsgRandom: m.MsgRandom,
        MsgSeq: m.MsgSeq,
        MsgTimeStamp: m.MsgTime,
      });
    }
    const { taken, truncated } = takeWithinBudget(items, count);
    return { answer: { GroupId: group.id, IsFinished: truncated ? 0 : 1, RspMsgList: taken } };
  },
};

/**
 * `v4/group_open_http_svc/group_msg_recall` (§5.6; callback §2.6): up to 10 seqs, each answered in
 * RecallRetList; one Group.CallbackAfterRecallMsg lists the ones recalled.
 */
export const groupMsgRecall: ApiSpec = {
  service: "group_open_http_svc",
  command: "group_msg_recall",
  carriesMessage: false,
  echoes: false,
  handle(context, body) {
    const { admin, nowMs, store } = context;
    const seqs = recallSeqs(body);
    optionalString(body, "Reason", Code.groupParam);
    const group = requireGroup(context, body);
    const topicId = topicOf(group, body);
    const recalled: { MsgSeq: number; MsgId: string }[] = [];
    const results = seqs.map((seq) => {
      const message = store.groupMessage(group, topicId, seq);
      if (message === undefined) return { MsgSeq: seq, RetCode: Code.recallNotFound };
      if (message.recalled) return { MsgSeq: seq, RetCode: Code.recallAlreadyRecalled };
      markRecalled(message, nowMs);
      recalled.push({ MsgSeq: seq, MsgId: message.MsgId });
      return { MsgSeq: seq, RetCode: 0 };
    });
    return {
      answer: { RecallRetList: results },
      callbacks:
        recalled.length === 0
          ? []
          : [
              {
                command: "Group.CallbackAfterRecallMsg",
                body: {
                  Operator_Account: admin,
                  Type: group.type,
                  GroupId: group.id,
                  MsgSeqList: recalled,
                  ...(topicId !== undefined ? { TopicId: topicId } : {}),
                  EventTime: nowMs,
                },
              },
            ],
    };
  },
};

/** GroupId: missing or not a String is a bad parameter, empty or over 48 bytes an invalid id, unknown 10010. */
function requireGroup({ store }: ApiContext, body: JsonObject): Group {
  const id = body.GroupId;
  if (typeof id !== "string")
    throw new TencentError(Code.groupParam, "GroupId is missing or is not a String");
  if (id === "" || Buffer.byteLength(id) > MAX_GROUP_ID_BYTES) {
    throw new TencentError(Code.groupIdInvalid, "GroupId is invalid");
  }
  const group = store.group(id);
  if (group === undefined) throw new TencentError(Code.groupNotFound, "group not found");
  return group;
}

/** Topics exist only in topic-enabled Community groups (§5.2); any TopicId there has its own seq space. */
function topicOf(group: Group, body: JsonObject): string | undefined {
  const topicId = optionalTopic(body, Code.groupParam);
  if (topicId !== undefined && group.type !== "Community") {
    throw new TencentError(Code.groupParam, "TopicId applies only to topic-enabled Community groups");
  }
  return topicId;
}

function recallSeqs(body: JsonObject): number[] {
  const list = body.MsgSeqList;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_RECALL) {
    throw new TencentError(Code.groupParam, `MsgSeqList must be an Array of 1 to ${MAX_RECALL} items`);
  }
  return list.map((item: unknown) => {
    if (item === null || typeof item !== "object") {
      throw new TencentError(Code.groupParam, "MsgSeqList items must be objects with MsgSeq");
    }
    return requireInteger(item as JsonObject, "MsgSeq", Code.groupParam, 1);
  });
}

export const isGroupType = (value: unknown): value is GroupType =>
  typeof value === "string" && (GROUP_TYPES as readonly string[]).includes(value);

function checkCustomGroupId(id: string, type: GroupType): void {
  const valid =
    id !== "" &&
    Buffer.byteLength(id) <= MAX_GROUP_ID_BYTES &&
    (type === "Community" ? id.startsWith("@TGS#_") : !id.startsWith("@TGS#"));
  if (!valid) throw new TencentError(Code.groupIdInvalid, "GroupId is invalid for this group type");
}

function generatedGroupId(type: GroupType): string {
  const suffix = randomBytes(6)
    .toString("base64url")
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, "X");
  return type === "Community" ? `@TGS#_${suffix}` : `@TGS#${suffix}`;
}

export const GROUP_APIS: readonly ApiSpec[] = [
  createGroup,
  sendGroupMsg,
  modifyGroupMsg,
  groupMsgGetSimple,
  groupMsgRecall,
];
