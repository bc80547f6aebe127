import { type MsgElement, parseMsgBody } from "./elements.ts";
import { Code, TencentError } from "./errors.ts";
import { type JsonObject, optionalString } from "./fields.ts";
import type { ApiContext, Handled } from "./handler.ts";
import { applyChange, type Change, type MessageRecord } from "./store.ts";

/**
 * The modify APIs' payload: MsgBody and/or CloudCustomData, each overwriting the stored field when
 * present (modify_c2c_msg / modify_group_msg pages). Neither is an invalid request.
 */
export function readChange(body: JsonObject, nowMs: number): Change {
  if (body.MsgBody === undefined && body.CloudCustomData === undefined) {
    throw new TencentError(Code.invalidRequest, "MsgBody or CloudCustomData is required");
  }
  const msgBody: MsgElement[] | undefined =
    body.MsgBody === undefined ? undefined : parseMsgBody(body.MsgBody);
  const cloudCustomData = optionalString(body, "CloudCustomData", Code.msgFormat);
  return { msgBody, cloudCustomData, nowMs };
}

/**
 * modify_c2c_msg and modify_group_msg once they looked the message up: it must exist (20022) and not be
 * recalled (20023); the change overwrites what it carries; the answer is "succeed" with the after-modify
 * callback `command` (§2.7): the operator, the message's `ids`, its MsgBody and CloudCustomData after the
 * change.
 */
export function modify<T extends MessageRecord>(
  { admin, nowMs }: ApiContext,
  message: T | undefined,
  change: Change,
  command: string,
  ids: (message: T) => JsonObject,
): Handled {
  if (message === undefined) throw new TencentError(Code.messageNotFound, "message not found");
  if (message.recalled) throw new TencentError(Code.messageRecalled, "message has been recalled");
  applyChange(message, change);
  return {
    info: "succeed",
    callbacks: [
      {
        command,
        body: {
          Operator_Account: admin,
          ...ids(message),
          MsgBody: message.MsgBody,
          ...customData(message.CloudCustomData),
          EventTime: nowMs,
        },
      },
    ],
  };
}

/** Callback bodies carry CloudCustomData only when the message has some. */
export const customData = (value: string | undefined): { CloudCustomData?: string } =>
  value !== undefined ? { CloudCustomData: value } : {};
