import type { Decision } from "../../core/decide.ts";
import { MisconfiguredError } from "../../core/errors.ts";
import { decodeName } from "../../core/forwarding.ts";
import type { ObservedMessage } from "../../core/model.ts";
import type { CallbackRequest } from "../../core/provider.ts";
import type { CallbackRelay, ForwardAnswer } from "../../core/relay.ts";
import * as z from "../../zod.ts";
import { MsgBody } from "./callback.ts";
import { tencentSign } from "./verify.ts";

/** Where and how Tencent callbacks are forwarded (TENCENT_CALLBACK_FORWARD_URL and its token). */
export interface TencentForwardSettings {
  /** The app's own callback handler. */
  readonly url: string;
  /**
   * The app's callback token (TENCENT_FORWARD_CALLBACK_TOKEN, else TENCENT_CALLBACK_TOKEN): `Sign` and
   * `RequestTime` are made afresh with it. Undefined: forwarded without them, as an unsigned callback.
   */
  readonly token?: string;
  /** The variable of a token that cannot be used: every forward is refused, never signed with an empty key. */
  readonly unusable?: string;
}

/** The before-send callbacks: Tencent waits for their answer, which decides the message. */
const TENCENT_SYNCHRONOUS_COMMANDS: ReadonlySet<string> = new Set([
  "C2C.CallbackBeforeSendMsg",
  "Group.CallbackBeforeSendMsg",
]);

/**
 * The app's own refusal codes Tencent passes through (shared/reference/tencent-chat-notes.md §1.4, as in
 * reply.ts); with the message unread (its kind unknown) a code of either range is taken, and the reply
 * sends one outside the message's range as the generic refusal `1`.
 */
const APP_CODES = { c2c: [120_001, 130_000], group: [10_100, 10_200] } as const;

/** The before-send answer envelope an app's handler sends Tencent (tencent-chat-notes §1.2, §2). */
const BeforeSendAnswer = z.object({
  ActionStatus: z.enum(["OK", "FAIL"]),
  ErrorCode: z.number().check(z.int()),
  ErrorInfo: z._default(z.string(), ""),
  // Read only with ErrorCode 0 (a rewrite); Tencent ignores them on a refusal.
  MsgBody: z.optional(z.unknown()),
  CloudCustomData: z.optional(z.unknown()),
});

/**
 * Tencent's part of the relay: the query string re-signed for the app (`Sign` = sha256(token +
 * RequestTime), RequestTime now, in place), no provider header beyond content-type and user-agent (Tencent
 * signs the URL only), the before-send commands answered synchronously, and the app's before-send answer
 * read as a decision.
 */
export function tencentRelay(settings: TencentForwardSettings): CallbackRelay {
  return {
    url: settings.url,
    headers: [],
    signatureParams: ["Sign", "RequestTime"],
    synchronous: (request) => {
      const command = commandOf(request);
      return command !== undefined && TENCENT_SYNCHRONOUS_COMMANDS.has(command);
    },
    sign: (forward, now) => {
      if (settings.unusable !== undefined) {
        throw new MisconfiguredError(`tencent forwards are refused: ${settings.unusable} is unusable`);
      }
      return { rawQuery: signQuery(forward.rawQuery, settings.token, now), headers: forward.headers };
    },
    decision: tencentDecision,
  };
}

/**
 * The query string with `Sign` and `RequestTime` made afresh, where they were (the other parameters
 * untouched, byte for byte); appended when the callback came unsigned but the app has a token. Without a
 * token both are removed: the app gets what an unsigned callback looks like.
 */
export function signQuery(rawQuery: string, token: string | undefined, now: Date): string {
  const requestTime = String(Math.floor(now.getTime() / 1000));
  const fresh =
    token === undefined ? undefined : { Sign: tencentSign(token, requestTime), RequestTime: requestTime };
  const written = new Set<string>();
  const parts: string[] = [];
  for (const part of rawQuery === "" ? [] : rawQuery.split("&")) {
    const name = decodeName(part);
    if (name !== "Sign" && name !== "RequestTime") {
      parts.push(part);
      continue;
    }
    // A repeated parameter is written once, at its first place.
    if (fresh === undefined || written.has(name)) continue;
    parts.push(`${name}=${fresh[name]}`);
    written.add(name);
  }
  if (fresh !== undefined) {
    for (const name of ["Sign", "RequestTime"] as const) {
      if (!written.has(name)) parts.push(`${name}=${fresh[name]}`);
    }
  }
  return parts.join("&");
}

/**
 * The app's answer to a before-send, validated (anything else is `invalid`: the fallback policy applies):
 * HTTP 200, a JSON object with `ActionStatus` "OK" or "FAIL", an integer `ErrorCode` and a string
 * `ErrorInfo` (default ""). `0`: allow, or a rewrite with a valid `MsgBody` (TIMMsgElement list) and/or a
 * string `CloudCustomData`; `1`: refuse; `2`: drop silently (a group's; a C2C drop is answered as a
 * refusal by the reply); the app's own codes (C2C 120001-130000, group 10100-10200): refuse with them.
 */
export function tencentDecision(
  answer: ForwardAnswer,
  message: ObservedMessage | undefined,
): Decision | { readonly invalid: string } {
  if (answer.status !== 200) return { invalid: `HTTP status ${answer.status}` };
  let json: unknown;
  try {
    json = JSON.parse(answer.body.toString("utf8"));
  } catch {
    return { invalid: "the answer is not JSON" };
  }
  if (json === null || typeof json !== "object" || Array.isArray(json))
    return { invalid: "the answer is not a JSON object" };
  const parsed = z.safeParse(BeforeSendAnswer, json);
  if (!parsed.success) {
    // Field names only: the answer's values are the app's (they may hold the message's content).
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join(".") || "(root)"))];
    return { invalid: `the answer's ${fields.join(", ")} ${fields.length > 1 ? "are" : "is"} invalid` };
  }
  const { ErrorCode: code, ErrorInfo: info } = parsed.data;
  switch (code) {
    case 0:
      return rewriteOf(parsed.data);
    case 1:
      return { action: "block", code: 1, info };
    case 2:
      return { action: "drop" };
  }
  const ranges = message === undefined ? [APP_CODES.c2c, APP_CODES.group] : [APP_CODES[kindOf(message)]];
  if (ranges.some(([low, high]) => code >= low && code <= high)) return { action: "block", code, info };
  return { invalid: `ErrorCode ${code} is not a before-send answer for this message` };
}

function rewriteOf(answer: z.infer<typeof BeforeSendAnswer>): Decision | { readonly invalid: string } {
  const { MsgBody: body, CloudCustomData: custom } = answer;
  if (body === undefined && custom === undefined) return { action: "allow" };
  if (body !== undefined && !z.safeParse(MsgBody, body).success)
    return { invalid: "the answer's MsgBody is not a list of TIMMsgElement ({ MsgType, MsgContent })" };
  if (custom !== undefined && typeof custom !== "string")
    return { invalid: "the answer's CloudCustomData is not a string" };
  return {
    action: "rewrite",
    content: {
      ...(body !== undefined ? { MsgBody: body } : {}),
      ...(custom !== undefined ? { CloudCustomData: custom } : {}),
    },
  };
}

const kindOf = (message: ObservedMessage): "c2c" | "group" => (message.kind === "group" ? "group" : "c2c");

/** The callback's command: the query string's (Tencent always sends it there), else the body's. */
function commandOf(request: CallbackRequest): string | undefined {
  const command = request.query.CallbackCommand;
  if (command !== undefined) return command;
  try {
    const body: unknown = JSON.parse(request.body.toString("utf8"));
    const named = (body as { CallbackCommand?: unknown } | null)?.CallbackCommand;
    return typeof named === "string" ? named : undefined;
  } catch {
    return undefined;
  }
}

/** The kind a before-send is about from its command alone (for a callback im-edit could not read). */
export function commandKind(request: CallbackRequest): "c2c" | "group" | undefined {
  const command = commandOf(request);
  if (command === undefined) return undefined;
  return command.startsWith("Group.") ? "group" : command.startsWith("C2C.") ? "c2c" : undefined;
}
