import { z } from "zod";

/**
 * Tencent Cloud Chat message callbacks, from the documented bodies (shared/reference/tencent-chat-notes.md §2)
 * and their quirks: `EventTime` is a string in some samples and a number in others, or absent; `MsgId`,
 * `UnreadMsgNum`, `TopicId`, `CloudCustomData` are optional; `TopicId: ""` means no topic. Unknown
 * fields are ignored, but message elements are kept whole (they are stored and may be restored).
 */
const Uint32 = z.number().int().min(0).max(4_294_967_295);
const SafeCount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const UserId = z.string().min(1).max(256);

/** Milliseconds since the epoch, as a number or a decimal string. */
const EventTime = z
  .union([
    SafeCount,
    z
      .string()
      .regex(/^\d{1,16}$/)
      .transform(Number),
  ])
  .optional();

export const MsgElement = z.looseObject({
  MsgType: z.string().min(1),
  MsgContent: z.record(z.string(), z.unknown()),
});
export type MsgElement = z.infer<typeof MsgElement>;
export const MsgBody = z.array(MsgElement);

const c2cMessage = {
  From_Account: UserId,
  To_Account: UserId,
  MsgSeq: Uint32,
  MsgRandom: Uint32,
  MsgTime: SafeCount,
  MsgKey: z.string().min(1).max(256),
  MsgId: z.string().min(1).optional(),
  OnlineOnlyFlag: z.number().int().optional(),
  MsgBody,
  CloudCustomData: z.string().optional(),
  EventTime,
};

const groupMessage = {
  GroupId: z.string().min(1).max(256),
  Type: z.string().optional(),
  From_Account: UserId,
  Operator_Account: z.string().optional(),
  Random: Uint32,
  MsgId: z.string().min(1).optional(),
  OnlineOnlyFlag: z.number().int().optional(),
  MsgBody,
  CloudCustomData: z.string().optional(),
  TopicId: z.string().optional(),
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
  SendMsgResult: z.number().int().default(0),
  ErrorInfo: z.string().optional(),
  UnreadMsgNum: z.number().int().optional(),
});
export type C2CAfterSendMsg = z.infer<typeof C2CAfterSendMsg>;

export const GroupBeforeSendMsg = z.object({
  CallbackCommand: z.literal("Group.CallbackBeforeSendMsg"),
  ...groupMessage,
});
export type GroupBeforeSendMsg = z.infer<typeof GroupBeforeSendMsg>;

export const GroupSendMsgException = z.object({
  CallbackCommand: z.literal("Group.CallbackSendMsgException"),
  ...groupMessage,
  ErrorCode: z.number().int(),
  ErrorInfo: z.string().default(""),
});
export type GroupSendMsgException = z.infer<typeof GroupSendMsgException>;

export const GroupAfterSendMsg = z.object({
  CallbackCommand: z.literal("Group.CallbackAfterSendMsg"),
  ...groupMessage,
  MsgSeq: SafeCount,
  MsgTime: SafeCount,
});
export type GroupAfterSendMsg = z.infer<typeof GroupAfterSendMsg>;

export const C2CAfterMsgWithDraw = z.object({
  CallbackCommand: z.literal("C2C.CallbackAfterMsgWithDraw"),
  From_Account: UserId,
  To_Account: UserId,
  MsgKey: z.string().min(1).max(256),
  EventTime,
});
export type C2CAfterMsgWithDraw = z.infer<typeof C2CAfterMsgWithDraw>;

export const GroupAfterRecallMsg = z.object({
  CallbackCommand: z.literal("Group.CallbackAfterRecallMsg"),
  GroupId: z.string().min(1).max(256),
  Type: z.string().optional(),
  Operator_Account: z.string().optional(),
  MsgSeqList: z
    .array(z.object({ MsgSeq: SafeCount, MsgId: z.string().optional() }))
    .min(1)
    .max(100),
  TopicId: z.string().optional(),
  EventTime,
});
export type GroupAfterRecallMsg = z.infer<typeof GroupAfterRecallMsg>;

export const C2CAfterModifyMsg = z.object({
  CallbackCommand: z.literal("C2C.CallbackAfterModifyMsg"),
  Operator_Account: z.string().optional(),
  From_Account: UserId,
  To_Account: UserId,
  MsgKey: z.string().min(1).max(256),
  MsgSeq: Uint32.optional(),
  MsgRandom: Uint32.optional(),
  MsgTime: SafeCount.optional(),
  MsgBody: MsgBody.optional(),
  CloudCustomData: z.string().optional(),
  EventTime,
});
export type C2CAfterModifyMsg = z.infer<typeof C2CAfterModifyMsg>;

export const GroupAfterModifyMsg = z.object({
  CallbackCommand: z.literal("Group.CallbackAfterModifyMsg"),
  Operator_Account: z.string().optional(),
  GroupId: z.string().min(1).max(256),
  Type: z.string().optional(),
  TopicId: z.string().optional(),
  MsgSeq: SafeCount,
  MsgBody: MsgBody.optional(),
  CloudCustomData: z.string().optional(),
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
  TencentCallback.options.map((o) => o.shape.CallbackCommand.value),
);

/** The envelope Tencent expects from every callback receiver. */
export const TENCENT_OK = { ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 } as const;
