import { BadRequestError } from "../../core/errors.ts";
import { eventKeyOf } from "../../core/events.ts";
import type { Content, MessageHead, ObservedMessage } from "../../core/model.ts";
import type { CallbackProvider, CallbackRequest, KeyLookup } from "../../core/provider.ts";
import type { RecorderEvent } from "../../core/recorder-events.ts";
import { parseJsonBody } from "../../json.ts";
import { parseWith } from "../../validation.ts";
import {
  type C2CAfterModifyMsg,
  type C2CAfterMsgWithDraw,
  type C2CAfterSendMsg,
  type GroupAfterModifyMsg,
  type GroupAfterRecallMsg,
  type GroupAfterSendMsg,
  type GroupBeforeSendMsg,
  type GroupSendMsgException,
  RECORDED_COMMANDS,
  TENCENT_OK,
  TencentCallback,
} from "./callback.ts";
import {
  c2cId,
  c2cLookupKey,
  groupLookupKey,
  groupMessageId,
  provisionalGroupId,
  topicOf,
} from "./identity.ts";
import {
  type C2CFields,
  c2cObserved,
  type GroupFields,
  groupObserved,
  isLiveGroup,
  isoFromSeconds,
} from "./observed.ts";
import { commandKind, type TencentForwardSettings, tencentRelay } from "./relay.ts";
import { tencentReply } from "./reply.ts";
import { type TencentCallbackAuth, verifyTencentQuery } from "./verify.ts";

export interface TencentProviderConfig extends TencentCallbackAuth {
  /** The App admin account our own edits are made as; its after-modify echoes are matched to intents. */
  readonly adminIdentifier: string;
  /**
   * Live groups (LIVE_GROUP_TYPES: AVChatRoom, Live) cannot be edited by modify_group_msg; skipping
   * them is the default. When set, they are recorded as not editable.
   */
  readonly recordAvChatRoom: boolean;
  /** The relay to the app's own callback handler (TENCENT_CALLBACK_FORWARD_URL), when set. */
  readonly forward?: TencentForwardSettings;
}

export function createTencentProvider(config: TencentProviderConfig): CallbackProvider {
  const appId = config.sdkAppId;

  const c2cMessage = (body: C2CFields, sentAt: string): ObservedMessage => c2cObserved(appId, body, sentAt);
  const groupMessage = (
    body: GroupFields,
    seq: { MsgSeq: number; MsgTime?: number } | { From_Account: string; Random: number },
    extra: { sender?: string | undefined; operator?: string | undefined; random?: number },
    sentAt: string,
  ): ObservedMessage => groupObserved(appId, body, seq, extra, sentAt);

  const toEvents = (callback: TencentCallback, receivedAt: Date, eventKey: string): RecorderEvent[] => {
    const eventAt = isoFromMillis(callback.EventTime) ?? receivedAt.toISOString();
    // Provider order: EventTime (ms) when Tencent sends it; else the send's MsgTime, else arrival.
    const order = { eventKey, eventAt: callback.EventTime ?? receivedAt.getTime() };
    switch (callback.CallbackCommand) {
      case "C2C.CallbackBeforeSendMsg":
        return [
          {
            type: "pending",
            message: c2cMessage(callback, isoFromSeconds(callback.MsgTime)),
            content: content(callback),
          },
        ];
      case "C2C.CallbackAfterSendMsg":
        return [{ ...c2cSent(callback), ...order, eventAt: callback.EventTime ?? callback.MsgTime * 1000 }];
      case "Group.CallbackBeforeSendMsg":
        return [{ type: "pending", message: provisional(callback, eventAt), content: content(callback) }];
      case "Group.CallbackSendMsgException":
        return [
          {
            type: "failed",
            message: provisional(callback, eventAt),
            sendError: { code: callback.ErrorCode, info: callback.ErrorInfo },
          },
        ];
      case "Group.CallbackAfterSendMsg":
        return [{ ...groupSent(callback), ...order, eventAt: callback.EventTime ?? callback.MsgTime * 1000 }];
      case "C2C.CallbackAfterMsgWithDraw":
        return [c2cRecalled(callback, eventAt)];
      case "Group.CallbackAfterRecallMsg":
        return groupRecalled(callback, eventAt);
      case "C2C.CallbackAfterModifyMsg":
        return [{ ...c2cModified(callback, eventAt), ...order }];
      case "Group.CallbackAfterModifyMsg":
        return [{ ...groupModified(callback, eventAt), ...order }];
    }
  };

  const c2cSent = (cb: C2CAfterSendMsg): Extract<RecorderEvent, { type: "sent" }> => ({
    type: "sent",
    message: c2cMessage(cb, isoFromSeconds(cb.MsgTime)),
    content: content(cb),
    ...(cb.SendMsgResult !== 0 ? { sendError: { code: cb.SendMsgResult, info: cb.ErrorInfo ?? "" } } : {}),
  });

  const provisional = (cb: GroupBeforeSendMsg | GroupSendMsgException, at: string): ObservedMessage =>
    groupMessage(cb, cb, { sender: cb.From_Account, operator: cb.Operator_Account }, at);

  const groupSent = (cb: GroupAfterSendMsg): Extract<RecorderEvent, { type: "sent" }> => ({
    type: "sent",
    message: groupMessage(
      cb,
      cb,
      {
        sender: cb.From_Account,
        operator: cb.Operator_Account,
        ...(cb.Random !== undefined ? { random: cb.Random } : {}),
      },
      isoFromSeconds(cb.MsgTime),
    ),
    content: content(cb),
    // Without Random (optional here) no before-send can be matched: nothing provisional to complete.
    ...(cb.Random !== undefined
      ? { provisionalId: provisionalGroupId(appId, cb.GroupId, cb.TopicId, cb.From_Account, cb.Random) }
      : {}),
  });

  const c2cRecalled = (cb: C2CAfterMsgWithDraw, at: string): RecorderEvent => {
    const message = c2cMessage(cb, at);
    return { type: "recalled", id: message.id, message, actor: cb.From_Account, at };
  };
  const groupRecalled = (cb: GroupAfterRecallMsg, at: string): RecorderEvent[] =>
    cb.MsgSeqList.map((item) => {
      const message = groupMessage({ ...cb, MsgId: item.MsgId }, { MsgSeq: item.MsgSeq }, {}, at);
      return {
        type: "recalled",
        id: message.id,
        message,
        ...(cb.Operator_Account !== undefined ? { actor: cb.Operator_Account } : {}),
        at,
      };
    });

  const c2cModified = (cb: C2CAfterModifyMsg, at: string): RecorderEvent => ({
    type: "modified",
    message: c2cMessage(cb, cb.MsgTime !== undefined ? isoFromSeconds(cb.MsgTime) : at),
    content: content(cb),
    ...(cb.Operator_Account !== undefined ? { actor: cb.Operator_Account } : {}),
    at,
  });

  const groupModified = (cb: GroupAfterModifyMsg, at: string): RecorderEvent => ({
    type: "modified",
    message: groupMessage(cb, { MsgSeq: cb.MsgSeq }, {}, at),
    content: content(cb),
    ...(cb.Operator_Account !== undefined ? { actor: cb.Operator_Account } : {}),
    at,
  });

  return {
    name: "tencent",
    appId,
    operator: config.adminIdentifier,
    ack: { status: 200, body: TENCENT_OK },
    // A before-send im-edit could not read (a live group it skips) is answered for the kind its command names.
    reply: (decision, message, request) => {
      const kind = message?.kind ?? (request ? commandKind(request) : undefined);
      return tencentReply(decision, kind !== undefined ? { kind } : undefined);
    },
    ...(config.forward ? { relay: tencentRelay(config.forward) } : {}),

    verify(request: CallbackRequest): void {
      verifyTencentQuery(request.query, config, request.receivedAt);
    },

    interpret(request: CallbackRequest): RecorderEvent[] {
      const json = parseJsonBody(request.body);
      const command = commandOf(json) ?? request.query.CallbackCommand;
      if (command === undefined) throw new BadRequestError("CallbackCommand is missing");
      if (request.query.CallbackCommand !== undefined && request.query.CallbackCommand !== command) {
        throw new BadRequestError("CallbackCommand in the URL and in the body differ");
      }
      if (!RECORDED_COMMANDS.has(command)) return [];
      // Live groups are skipped before validation: a field im-edit would not use is no reason to refuse.
      if (
        !config.recordAvChatRoom &&
        Object.hasOwn(json as object, "Type") &&
        isLiveGroup((json as { Type?: unknown }).Type)
      )
        return [];
      const callback = parseWith(
        TencentCallback,
        { ...(json as object), CallbackCommand: command },
        `invalid ${command} callback`,
      );
      return toEvents(callback, request.receivedAt, eventKeyOf(request.body));
    },

    lookup(appId, params): KeyLookup | undefined {
      const { msgKey, from, to, groupId, msgSeq, topicId } = params;
      if (msgKey !== undefined) {
        const sentAt = msgKeyTime(msgKey);
        return {
          ...(from !== undefined && to !== undefined ? { id: c2cId(appId, from, to, msgKey) } : {}),
          lookupKey: c2cLookupKey(msgKey),
          matches: (head: MessageHead) =>
            (from === undefined || head.key.from === from) && (to === undefined || head.key.to === to),
          ...(from !== undefined ? { sender: from } : {}),
          ...(sentAt !== undefined
            ? {
                sentBetween: [
                  new Date(sentAt - MSG_KEY_TIME_SLACK_MS).toISOString(),
                  new Date(sentAt + MSG_KEY_TIME_SLACK_MS).toISOString(),
                ] as const,
              }
            : {}),
        };
      }
      if (groupId !== undefined || msgSeq !== undefined) {
        if (groupId === undefined || msgSeq === undefined || !/^\d{1,16}$/.test(msgSeq)) {
          throw new BadRequestError(
            "a group lookup needs groupId and a numeric msgSeq (and topicId for topics)",
          );
        }
        const topic = topicOf(topicId);
        return {
          id: groupMessageId(appId, groupId, topic, Number(msgSeq)),
          lookupKey: groupLookupKey(groupId, Number(msgSeq)),
          matches: (head: MessageHead) => (head.key.topicId ?? "") === topic,
        };
      }
      return undefined;
    },
  };
}

/**
 * Every documented C2C MsgKey is `<MsgSeq>_<MsgRandom>_<MsgTime>` (not a stated contract: UNCONFIRMED), and
 * a record's createdAt is its MsgTime: a partial-key search looks around that time. Undefined when the key
 * does not have that shape (then the lookup needs from and to).
 */
function msgKeyTime(msgKey: string): number | undefined {
  const match = /^\d+_\d+_(\d{9,11})$/.exec(msgKey);
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1000;
}

/** How far from the MsgKey's time a partial-key search looks (a record created by an early after-modify). */
const MSG_KEY_TIME_SLACK_MS = 5 * 60_000;

function content(body: { MsgBody?: unknown[] | undefined; CloudCustomData?: string | undefined }): Content {
  return {
    ...(body.MsgBody !== undefined ? { MsgBody: body.MsgBody } : {}),
    ...(body.CloudCustomData !== undefined ? { CloudCustomData: body.CloudCustomData } : {}),
  };
}

function commandOf(json: unknown): string | undefined {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new BadRequestError("callback body must be a JSON object");
  }
  const command = (json as { CallbackCommand?: unknown }).CallbackCommand;
  return typeof command === "string" ? command : undefined;
}

const isoFromMillis = (millis: number | undefined): string | undefined =>
  millis === undefined ? undefined : new Date(millis).toISOString();
