import { readFileSync } from "node:fs";

/**
 * Tencent C2C after-send callbacks for the benchmarks: the documented fixture with a fresh message
 * key per call, so every callback records a new message. No project imports: the load client (a
 * separate process) uses this too.
 */
export const APP_ID = "1400000000";
export const AFTER_SEND_COMMAND = "C2C.CallbackAfterSendMsg";
export const CALLBACK_PATH = `/callbacks/tencent?SdkAppid=${APP_ID}&CallbackCommand=${AFTER_SEND_COMMAND}`;

const fixture: unknown = JSON.parse(
  readFileSync(new URL("../test/fixtures/tencent/c2c-after-send.json", import.meta.url), "utf8"),
);
if (fixture === null || typeof fixture !== "object" || Array.isArray(fixture)) {
  throw new Error("c2c-after-send.json is not a JSON object");
}
const template: Readonly<Record<string, unknown>> = fixture as Record<string, unknown>;

export interface AfterSend {
  readonly from: string;
  readonly to: string;
  /** MsgSeq and MsgRandom: unsigned 32-bit. */
  readonly seq: number;
  readonly random: number;
  /** MsgTime, epoch seconds. */
  readonly time: number;
}

/** Tencent's C2C MsgKey is `<MsgSeq>_<MsgRandom>_<MsgTime>`. */
export const msgKeyOf = (m: AfterSend): string => `${m.seq}_${m.random}_${m.time}`;

export function afterSendBody(m: AfterSend): string {
  return JSON.stringify({
    ...template,
    From_Account: m.from,
    To_Account: m.to,
    MsgSeq: m.seq,
    MsgRandom: m.random,
    MsgTime: m.time,
    MsgKey: msgKeyOf(m),
    EventTime: m.time * 1000,
  });
}

/** A random unsigned 32-bit value, so separate runs never reuse a key. */
export const randomUint32 = (): number => Math.floor(Math.random() * 0x1_0000_0000);

/** The fixture's message content as the recorder stores it (Tencent `MsgBody` + `CloudCustomData`). */
export const fixtureContent: Readonly<Record<string, unknown>> = {
  MsgBody: template.MsgBody,
  CloudCustomData: template.CloudCustomData,
};
export const fixtureMsgId = String(template.MsgId);
