import type { Decision } from "../../core/decide.ts";
import type { ObservedMessage } from "../../core/model.ts";
import type { CallbackReply } from "../../core/provider.ts";
import { MsgBody as MsgBodySchema, TENCENT_OK } from "./callback.ts";

/**
 * The app's own refusal codes Tencent passes through to the sender (shared/reference/tencent-chat-notes.md
 * §1.4): C2C before-send `[120001, 130000]`, group before-send `[10100, 10200]`. Any other code is sent as
 * the generic refusal `1` (the sender then gets 20006 for C2C, 10016 for a group).
 */
const CUSTOM_CODES = { c2c: [120_001, 130_000], group: [10_100, 10_200] } as const;

/** ErrorCode 2, a silent discard, is documented for group before-send only. */
const SILENT_DROP = 2;
const REFUSE = 1;

/**
 * Tencent's answer to a callback, from the decision. After-callbacks ignore the answer's value (`OK`
 * always); a before-send's decides the message: `0` delivers it (with `MsgBody`/`CloudCustomData` when
 * rewritten), `1` or the app's code refuses it, `2` drops it silently (groups; a C2C drop is a refusal,
 * since Tencent documents no silent discard there). Throws TypeError for a rewrite Tencent cannot take.
 */
export function tencentReply(decision: Decision, message?: Pick<ObservedMessage, "kind">): CallbackReply {
  const kind = message?.kind === "group" ? "group" : "c2c";
  switch (decision.action) {
    case "allow":
      return { status: 200, body: TENCENT_OK };
    case "block": {
      const [low, high] = CUSTOM_CODES[kind];
      const code =
        decision.code !== undefined && decision.code >= low && decision.code <= high ? decision.code : REFUSE;
      return { status: 200, body: { ActionStatus: "OK", ErrorInfo: decision.info, ErrorCode: code } };
    }
    case "drop":
      return kind === "group"
        ? { status: 200, body: { ActionStatus: "OK", ErrorInfo: "", ErrorCode: SILENT_DROP } }
        : { status: 200, body: { ActionStatus: "OK", ErrorInfo: "", ErrorCode: REFUSE } };
    case "rewrite": {
      const { MsgBody, CloudCustomData } = decision.content;
      // Refused here, not by Tencent: the pipeline then allows the message as sent (and reports it).
      if (MsgBody !== undefined && !MsgBodySchema.safeParse(MsgBody).success)
        throw new TypeError("a rewritten MsgBody must be a list of TIMMsgElement ({ MsgType, MsgContent })");
      if (CloudCustomData !== undefined && typeof CloudCustomData !== "string")
        throw new TypeError("a rewritten CloudCustomData must be a string");
      if (MsgBody === undefined && CloudCustomData === undefined)
        throw new TypeError("a Tencent rewrite sets MsgBody and/or CloudCustomData");
      return {
        status: 200,
        body: {
          ...TENCENT_OK,
          ...(MsgBody !== undefined ? { MsgBody } : {}),
          ...(CloudCustomData !== undefined ? { CloudCustomData } : {}),
        },
      };
    }
  }
}
