import { boundedString, MAX_EPOCH_MS, storable } from "../../validation.ts";
import * as z from "../../zod.ts";

/**
 * Tencent Cloud Chat message callbacks, from the documented bodies (shared/reference/tencent-chat-notes.md §2)
 * and their quirks: `EventTime` is a string in some samples and a number in others, or absent; `MsgId`,
 * `UnreadMsgNum`, `TopicId`, `CloudCustomData` are optional; `TopicId: ""` means no topic. Unknown
 * fields are ignored, and so are documented fields im-edit never reads (`OnlineOnlyFlag`, `UnreadMsgNum`,
 * `GroupAtInfo`): a wrong type there is no reason to lose the message. Message elements are kept whole
 * (they are stored and may be restored), so their values must be storable (validation.ts `storable`).
 *
 * Every number is bounded to what Tencent sends and `Date` accepts: seconds are unsigned 32-bit (the
 * REST API's `MsgTimeStamp`, the `MsgKey` parts), milliseconds at most MAX_EPOCH_MS (2106).
 */
const Uint32 = z.number().check(z.int(), z.minimum(0), z.maximum(4_294_967_295));
const SafeCount = z.number().check(z.int(), z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER));
/** Identifiers, bounded in bytes: Tencent's own limits are far lower (UserID 32 bytes, GroupId 48). */
const UserId = boundedString(256);
const GroupId = boundedString(256);
const MsgKey = boundedString(256);
/** `""` means no topic. */
const TopicId = z.optional(
  z
    .string()
    .check(z.refine((value) => Buffer.byteLength(value) <= 256, "must be at most 256 bytes of UTF-8")),
);
/** Seconds since the epoch (`MsgTime`): unsigned 32-bit, as Tencent keeps it. */
const Seconds = z
  .number()
  .check(z.int(), z.minimum(0), z.maximum(4_294_967_295, "must be seconds since 1970 (unsigned 32-bit)"));
const Millis = z
  .number()
  .check(z.int(), z.minimum(0), z.maximum(MAX_EPOCH_MS, "must be milliseconds since 1970, before 2106"));

/** Milliseconds since the epoch, as a number or a decimal string. */
const EventTime = z.optional(
  z.union([
    Millis,
    z.pipe(
      z.pipe(z.string().check(z.regex(/^\d{1,16}$/, "must be milliseconds since 1970")), z.transform(Number)),
      Millis,
    ),
  ]),
);

export const MsgElement = z.looseObject({
  MsgType: z.string().check(z.minLength(1)),
  MsgContent: z.record(z.string(), z.unknown()),
});
export type MsgElement = z.infer<typeof MsgElement>;
export const MsgBody = z.array(MsgElement).check(z.superRefine(storable));

const c2cMessage = {
  From_Account: UserId,
  To_Account: UserId,
  MsgSeq: Uint32,
  MsgRandom: Uint32,
  MsgTime: Seconds,
  MsgKey,
  MsgId: z.optional(z.string().check(z.minLength(1))),
  MsgBody,
  CloudCustomData: z.optional(z.string()),
  EventTime,
};

/** `Random` is optional here: only the provisional identity (before MsgSeq exists) needs it. */
const groupMessage = {
  GroupId,
  Type: z.optional(z.string()),
  From_Account: UserId,
  Operator_Account: z.optional(z.string()),
  Random: z.optional(Uint32),
  MsgId: z.optional(z.string().check(z.minLength(1))),
  MsgBody,
  CloudCustomData: z.optional(z.string()),
  TopicId,
  EventTime,
};

export const C2CBeforeSendMsg = z.object({
  CallbackCommand: z.literal("C2C.CallbackBeforeSendMsg"),
  ...c2cMessage,
});
export type C2CBeforeSendMsg = z.infer<typeof C2CBeforeSendMsg>;

export const C2CAfterSendMsg = z.object({
  CallbackCommand: z.literal("C2C.CallbackAfterSendMsg"),
  ...c2cMessage,
  SendMsgResult: z._default(z.number().check(z.int()), 0),
  ErrorInfo: z.optional(z.string()),
});
export type C2CAfterSendMsg = z.infer<typeof C2CAfterSendMsg>;

export const GroupBeforeSendMsg = z.object({
  CallbackCommand: z.literal("Group.CallbackBeforeSendMsg"),
  ...groupMessage,
  Random: Uint32,
});
export type GroupBeforeSendMsg = z.infer<typeof GroupBeforeSendMsg>;

export const GroupSendMsgException = z.object({
  CallbackCommand: z.literal("Group.CallbackSendMsgException"),
  ...groupMessage,
  Random: Uint32,
  ErrorCode: z.number().check(z.int()),
  ErrorInfo: z._default(z.string(), ""),
});
export type GroupSendMsgException = z.infer<typeof GroupSendMsgException>;

export const GroupAfterSendMsg = z.object({
  CallbackCommand: z.literal("Group.CallbackAfterSendMsg"),
  ...groupMessage,
  MsgSeq: SafeCount,
  MsgTime: Seconds,
});
export type GroupAfterSendMsg = z.infer<typeof GroupAfterSendMsg>;

export const C2CAfterMsgWithDraw = z.object({
  CallbackCommand: z.literal("C2C.CallbackAfterMsgWithDraw"),
  From_Account: UserId,
  To_Account: UserId,
  MsgKey,
  EventTime,
});
export type C2CAfterMsgWithDraw = z.infer<typeof C2CAfterMsgWithDraw>;

export const GroupAfterRecallMsg = z.object({
  CallbackCommand: z.literal("Group.CallbackAfterRecallMsg"),
  GroupId,
  Type: z.optional(z.string()),
  Operator_Account: z.optional(z.string()),
  MsgSeqList: z
    .array(z.object({ MsgSeq: SafeCount, MsgId: z.optional(z.string()) }))
    .check(z.minLength(1), z.maxLength(100)),
  TopicId,
  EventTime,
});
export type GroupAfterRecallMsg = z.infer<typeof GroupAfterRecallMsg>;

export const C2CAfterModifyMsg = z.object({
  CallbackCommand: z.literal("C2C.CallbackAfterModifyMsg"),
  Operator_Account: z.optional(z.string()),
  From_Account: UserId,
  To_Account: UserId,
  MsgKey,
  MsgSeq: z.optional(Uint32),
  MsgRandom: z.optional(Uint32),
  MsgTime: z.optional(Seconds),
  MsgBody: z.optional(MsgBody),
  CloudCustomData: z.optional(z.string()),
  EventTime,
});
export type C2CAfterModifyMsg = z.infer<typeof C2CAfterModifyMsg>;

export const GroupAfterModifyMsg = z.object({
  CallbackCommand: z.literal("Group.CallbackAfterModifyMsg"),
  Operator_Account: z.optional(z.string()),
  GroupId,
  Type: z.optional(z.string()),
  TopicId,
  MsgSeq: SafeCount,
  MsgBody: z.optional(MsgBody),
  CloudCustomData: z.optional(z.string()),
  EventTime,
});
export type GroupAfterModifyMsg = z.infer<typeof GroupAfterModifyMsg>;

/** The callbacks im-edit records; any other `CallbackCommand` is acknowledged and ignored. */
export const TencentCallback = z.discriminatedUnion("CallbackCommand", [
  C2CBeforeSendMsg,
  C2CAfterSendMsg,
  GroupBeforeSendMsg,
  GroupSendMsgException,
  GroupAfterSendMsg,
  C2CAfterMsgWithDraw,
  GroupAfterRecallMsg,
  C2CAfterModifyMsg,
  GroupAfterModifyMsg,
]);
export type TencentCallback = z.infer<typeof TencentCallback>;

export const RECORDED_COMMANDS: ReadonlySet<string> = new Set(
  TencentCallback.def.options.flatMap((o) => o.shape.CallbackCommand.def.values),
);

/**
 * Group types whose messages Tencent cannot modify: live groups, which keep no message history.
 * - `AVChatRoom`: modify_group_msg "cannot be used to modify the historical messages of audio-video
 *   groups" (shared/reference/tencent-modify_group_msg.en.txt; tencent-chat-notes §5.2, §5.3: clients get
 *   2481 "live groups not supported"); "historical message storage is available only for non-AVChatRoom
 *   groups" (Group System, https://trtc.io/document/33529).
 * - `Live`: the rooms of Tencent's live-streaming products (`RoomType: "Live"`, live_engine_http_srv
 *   create_room, https://tencentcloud.com/document/product/647/63418) are live groups.
 * Work (Private), Public, Meeting (ChatRoom) and Community groups, topics included (modify_group_msg's
 * `TopicId`), are editable.
 */
export const LIVE_GROUP_TYPES: ReadonlySet<string> = new Set(["AVChatRoom", "Live"]);

/** The envelope Tencent expects from every callback receiver. */
export const TENCENT_OK = { ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 } as const;
