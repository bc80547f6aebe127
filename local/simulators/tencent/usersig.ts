import { createHmac, timingSafeEqual } from "node:crypto";
import { createRequire } from "node:module";
import { inflateSync } from "node:zlib";
import { Code } from "./errors.ts";

/** The part of `tls-sig-api-v2` (CommonJS, untyped) used here (tencent-chat-notes §7.1). */
interface TlsSigApi {
  genUserSig(userId: string, expireSeconds: number): string;
}
interface TlsSigModule {
  Api: new (sdkAppId: number, key: string) => TlsSigApi;
}

const require = createRequire(import.meta.url);

/**
 * A UserSig from Tencent's own Node library, so tests and the local stack sign exactly as production
 * code would. The library reads `Date.now()` itself: to test expiry, move the verifier's clock instead.
 */
export function generateUserSig(
  sdkAppId: string,
  secretKey: string,
  userId: string,
  expireSeconds = 86_400,
): string {
  const { Api } = require("tls-sig-api-v2") as TlsSigModule;
  return new Api(Number(sdkAppId), secretKey).genUserSig(userId, expireSeconds);
}

export interface UserSigExpectation {
  readonly sdkAppId: string;
  readonly identifier: string;
  readonly secretKey: string;
  readonly nowMs: number;
}

export type UserSigVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: number; readonly info: string };

/** A decoded sig document is small; anything that inflates past this is not a UserSig. */
const MAX_DOCUMENT_BYTES = 8 * 1024;

/**
 * Verifies a UserSig the way Tencent's own verifiers do (§7.2, Go `VerifyUserSig`): undo the url-safe
 * base64 (`*`→`+`, `-`→`/`, `_`→`=`), inflate whatever zlib level was used (Node signs at level 6, Go
 * stores uncompressed with a trailing newline), parse the JSON, then check app id, identifier, HMAC and
 * expiry. The HMAC is checked before expiry so that a forged `TLS.time` is reported as forged.
 */
export function verifyUserSig(userSig: string, expected: UserSigExpectation): UserSigVerdict {
  const doc = decode(userSig);
  if (doc === undefined) return fail(Code.userSigIllegal, "UserSig is illegal (cannot be decoded)");
  if (String(doc.sdkAppId) !== expected.sdkAppId) {
    return fail(Code.userSigAppId, "SDKAppID in the URL differs from the one in the UserSig");
  }
  if (doc.identifier !== expected.identifier) {
    return fail(Code.userSigIdentifier, "identifier in the URL differs from the one in the UserSig");
  }
  const content =
    `TLS.identifier:${doc.identifier}\n` +
    `TLS.sdkappid:${doc.sdkAppId}\n` +
    `TLS.time:${doc.time}\n` +
    `TLS.expire:${doc.expire}\n` +
    (doc.userBuf !== undefined ? `TLS.userbuf:${doc.userBuf}\n` : "");
  const wanted = createHmac("sha256", expected.secretKey).update(content).digest();
  const given = Buffer.from(doc.sig, "base64");
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    return fail(Code.userSigMismatch, "UserSig verification failed (signed with another key?)");
  }
  if (Math.floor(expected.nowMs / 1000) > doc.time + doc.expire) {
    return fail(Code.userSigExpired, "UserSig expired");
  }
  return { ok: true };
}

interface SigDocument {
  readonly identifier: string;
  readonly sdkAppId: number;
  readonly time: number;
  readonly expire: number;
  readonly sig: string;
  readonly userBuf?: string;
}

function decode(userSig: string): SigDocument | undefined {
  // Buffer's base64 decoder skips foreign characters silently; a real verifier would not.
  if (!/^[A-Za-z0-9*_-]+$/.test(userSig)) return undefined;
  const base64 = userSig.replace(/\*/g, "+").replace(/-/g, "/").replace(/_/g, "=");
  if (/=[^=]/.test(base64)) return undefined;
  let parsed: unknown;
  try {
    const text = inflateSync(Buffer.from(base64, "base64"), { maxOutputLength: MAX_DOCUMENT_BYTES });
    parsed = JSON.parse(text.toString("utf8"));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return undefined;
  const doc = parsed as Record<string, unknown>;
  const { "TLS.ver": ver, "TLS.identifier": identifier, "TLS.sig": sig, "TLS.userbuf": userBuf } = doc;
  const sdkAppId = doc["TLS.sdkappid"];
  const time = doc["TLS.time"];
  const expire = doc["TLS.expire"];
  if (ver !== "2.0" || typeof identifier !== "string" || typeof sig !== "string") return undefined;
  if (!isWhole(sdkAppId) || !isWhole(time) || !isWhole(expire)) return undefined;
  if (userBuf !== undefined && typeof userBuf !== "string") return undefined;
  return { identifier, sdkAppId, time, expire, sig, ...(userBuf !== undefined ? { userBuf } : {}) };
}

const isWhole = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

const fail = (code: number, info: string): UserSigVerdict => ({ ok: false, code, info });
