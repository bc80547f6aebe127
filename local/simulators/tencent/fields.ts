import { Code, TencentError } from "./errors.ts";

/** A request body after JSON parsing: always an object (anything else is refused before handlers run). */
export type JsonObject = Readonly<Record<string, unknown>>;

const UINT32_MAX = 4_294_967_295;

/** A required, non-empty string field; `code` is the API's documented code for that field. */
export function requireString(body: JsonObject, name: string, code: number): string {
  const value = body[name];
  if (typeof value !== "string" || value === "") {
    throw new TencentError(code, `${name} is missing or is not a non-empty String`);
  }
  return value;
}

export function optionalString(body: JsonObject, name: string, code: number): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new TencentError(code, `${name} is not a String`);
  return value;
}

export function requireInteger(
  body: JsonObject,
  name: string,
  code: number,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
): number {
  const value = body[name];
  if (!isIntegerIn(value, min, max)) {
    throw new TencentError(code, `${name} is missing or is not an Integer in [${min}, ${max}]`);
  }
  return value;
}

export function optionalInteger(
  body: JsonObject,
  name: string,
  code: number,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
): number | undefined {
  return body[name] === undefined ? undefined : requireInteger(body, name, code, min, max);
}

export const requireUint32 = (body: JsonObject, name: string, code: number): number =>
  requireInteger(body, name, code, 0, UINT32_MAX);

export const optionalUint32 = (body: JsonObject, name: string, code: number): number | undefined =>
  optionalInteger(body, name, code, 0, UINT32_MAX);

export const isIntegerIn = (value: unknown, min: number, max: number): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max;

/** `TopicId: ""` means "no topic" everywhere in Tencent's API (tencent-chat-notes §2.7 sample). */
export function optionalTopic(body: JsonObject, code: number): string | undefined {
  const topic = optionalString(body, "TopicId", code);
  return topic === "" ? undefined : topic;
}

/** `ForbidCallbackControl` (sendmsg, send_group_msg): an Array of Strings. */
export function forbids(body: JsonObject, what: string, code: number): boolean {
  const value = body.ForbidCallbackControl;
  if (value === undefined) return false;
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw new TencentError(code, "ForbidCallbackControl is not an Array of Strings");
  }
  return value.includes(what);
}

/** C2C MsgKey: `<MsgSeq>_<MsgRandom>_<MsgTime>`, all decimal (§3); anything else is 90054. */
export function requireMsgKey(body: JsonObject): string {
  const value = body.MsgKey;
  if (typeof value !== "string" || !/^\d{1,10}_\d{1,10}_\d{1,12}$/.test(value)) {
    throw new TencentError(Code.msgKey, "MsgKey is invalid");
  }
  return value;
}
