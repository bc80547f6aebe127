import { type MsgElement, parseMsgBody } from "./elements.ts";
import { Code, TencentError } from "./errors.ts";
import { type JsonObject, optionalString } from "./fields.ts";
import type { Change } from "./store.ts";

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

/** Callback bodies carry CloudCustomData only when the message has some. */
export const customData = (value: string | undefined): { CloudCustomData?: string } =>
  value !== undefined ? { CloudCustomData: value } : {};
