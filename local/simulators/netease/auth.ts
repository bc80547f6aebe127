import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { Code, YunxinError } from "./errors.ts";

/**
 * `CheckSum` of an API request (notes §1.1): lower-case hex SHA1 of AppSecret + Nonce + CurTime, the
 * strings concatenated. Written here rather than imported from functions/: the simulator must not share
 * the code under test, or a bug there would be invisible.
 */
export function apiCheckSum(appSecret: string, nonce: string, curTime: string): string {
  return createHash("sha1")
    .update(appSecret + nonce + curTime, "utf8")
    .digest("hex");
}

/** CheckSum validity: 5 minutes either side of CurTime (notes §1.1). */
const MAX_SKEW_SECONDS = 300;

export interface Credentials {
  readonly appKey: string;
  readonly appSecret: string;
}

/**
 * The header checks of every API request, in this order: AppKey, Nonce, CurTime (seconds, digits),
 * CheckSum, then CurTime within 5 minutes of the server clock. Every failure is 414 (the CheckSum code
 * in §1.1; Yunxin does not document codes for the others).
 */
export function verifyHeaders(headers: IncomingHttpHeaders, credentials: Credentials, nowMs: number): void {
  const appKey = single(headers, "appkey");
  if (appKey === undefined || appKey === "") throw new YunxinError(Code.param, "AppKey header is missing");
  if (appKey !== credentials.appKey) throw new YunxinError(Code.param, "AppKey is invalid");
  const nonce = single(headers, "nonce");
  if (nonce === undefined || nonce === "") throw new YunxinError(Code.param, "Nonce header is missing");
  if (nonce.length > 128) throw new YunxinError(Code.param, "Nonce is longer than 128 characters");
  const curTime = single(headers, "curtime");
  if (curTime === undefined || curTime === "") throw new YunxinError(Code.param, "CurTime header is missing");
  if (!/^\d{1,16}$/.test(curTime)) throw new YunxinError(Code.param, "CurTime must be UTC seconds");
  const checkSum = single(headers, "checksum");
  if (checkSum === undefined || checkSum === "")
    throw new YunxinError(Code.param, "CheckSum header is missing");
  const expected = Buffer.from(apiCheckSum(credentials.appSecret, nonce, curTime));
  const given = Buffer.from(checkSum);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new YunxinError(Code.param, "CheckSum check failed");
  }
  if (Math.abs(Number(curTime) - Math.floor(nowMs / 1000)) > MAX_SKEW_SECONDS) {
    throw new YunxinError(Code.param, "CurTime is more than 5 minutes off: CheckSum expired");
  }
}

/**
 * v2 request bodies are JSON (notes §1.1: `application/json;charset=UTF-8`; the docs' curl sends plain
 * `application/json`). Any other media type or charset is refused with 414.
 */
export function verifyJsonContentType(headers: IncomingHttpHeaders): void {
  const value = headers["content-type"];
  if (value === undefined) throw new YunxinError(Code.param, "Content-Type must be application/json");
  const [type = "", ...params] = value.split(";").map((part) => part.trim().toLowerCase());
  if (type !== "application/json") throw new YunxinError(Code.param, "Content-Type must be application/json");
  for (const param of params) {
    const [name, charset] = param.split("=").map((part) => part.trim().replace(/^"|"$/g, ""));
    if (name === "charset" && charset !== "utf-8") throw new YunxinError(Code.param, "charset must be UTF-8");
  }
}

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
