import { createHash } from "node:crypto";
import { tencentSign } from "../functions/providers/tencent/verify.ts";
import { APP_ID, randomUint32 } from "./callbacks.ts";

/**
 * What the relay benchmark sends as Tencent would: the two callback tokens, the paths, signed queries
 * and C2C before-sends of their own.
 */

/** im-edit's callback token, and the app's own (forwards are re-signed with it: a valid Sign proves it). */
export const TOKEN = "bench-relay-callback-token";
export const APP_TOKEN = "bench-relay-apps-own-token";
export const BEFORE_SEND_COMMAND = "C2C.CallbackBeforeSendMsg";
export const CALLBACK_PATH = "/callbacks/tencent";
export const APP_PATH = "/im/callback";

export type Way = "direct" | "relayed";

export interface BeforeSend {
  readonly body: Buffer;
  readonly hash: string;
  readonly query: Readonly<Record<Way, string>>;
}

/** The query Tencent sends, signed now with `token`. */
export function signedQuery(command: string, token: string): string {
  const requestTime = String(Math.floor(Date.now() / 1000));
  return `SdkAppid=${APP_ID}&CallbackCommand=${command}&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI&RequestTime=${requestTime}&Sign=${tencentSign(token, requestTime)}`;
}

/** The documented C2C before-send with a message of its own. */
export function beforeSendBody(run: string, i: number): Buffer {
  const seq = i + 1;
  const random = randomUint32();
  const time = Math.floor(Date.now() / 1000);
  return Buffer.from(
    JSON.stringify({
      CallbackCommand: BEFORE_SEND_COMMAND,
      From_Account: `relay-${run}-u${i}`,
      To_Account: `relay-${run}-v${i}`,
      MsgSeq: seq,
      MsgRandom: random,
      MsgTime: time,
      MsgKey: `${seq}_${random}_${time}`,
      MsgId: `${seq}-${time}-${random}`,
      OnlineOnlyFlag: 0,
      MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: `hello ${i}` } }],
      CloudCustomData: "",
      EventTime: time * 1000,
    }),
  );
}

export const sha256 = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");
