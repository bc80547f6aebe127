import { BadRequestError } from "../../core/errors.ts";
import { parseJsonBody } from "../../json.ts";
import { boundedString, MAX_EPOCH_MS } from "../../validation.ts";
import * as z from "../../zod.ts";

/**
 * Yunxin message copies (消息抄送, netease-yunxin-notes §3.2). Every field is a string on the wire;
 * "not every field is always sent". Ids are kept as strings end to end: `msgidServer` can exceed 2^53.
 */
const Digits = z.string().check(z.regex(/^\d{1,20}$/, "must be a decimal id"));
/** Milliseconds since the epoch as a decimal string, no later than MAX_EPOCH_MS (what `Date` and Yunxin hold). */
const EpochMillis = z.string().check(
  z.regex(/^\d{1,13}$/, "must be milliseconds since 1970"),
  z.refine((value) => Number(value) <= MAX_EPOCH_MS, "must be milliseconds since 1970, before 2106"),
);
/** Accounts and team ids, bounded in bytes (they end up percent-encoded in DynamoDB keys; Yunxin's accid is at most 32 characters). */
const Account = boundedString(256);

/** eventType "1": a conversation message (P2P, team, super team, and their custom/system variants). */
export const ConversationCopy = z.looseObject({
  eventType: z.literal("1"),
  convType: z.string().check(z.minLength(1)),
  to: Account,
  fromAccount: Account,
  msgTimestamp: EpochMillis,
  msgType: z.string().check(z.minLength(1)),
  msgidServer: Digits,
  msgidClient: z.optional(z.string()),
  body: z.optional(z.string()),
  /**
   * A JSON string per Yunxin's field table, a JSON object in its own samples (team notifications): both
   * are kept. Stored faithfully as text when it is not JSON the store can hold.
   */
  attach: z.optional(z.union([z.string(), z.record(z.string(), z.unknown())])),
  ext: z.optional(z.string()),
});
export type ConversationCopy = z.infer<typeof ConversationCopy>;

/**
 * eventType "7" (P2P) / "8" (team) recalls. Their payload is UNCONFIRMED: both readings are accepted,
 * the V9 recall API's names (`deleteMsgid`, `from`, `timetag`) and the conversation copy's names
 * (`msgidServer`, `fromAccount`, `msgTimestamp`).
 */
export const RecallCopy = z.looseObject({
  eventType: z.enum(["7", "8"]),
  deleteMsgid: z.optional(Digits),
  msgidServer: z.optional(Digits),
  msgid: z.optional(Digits),
  from: z.optional(z.string()),
  fromAccount: z.optional(z.string()),
  to: z.optional(z.string()),
});
export type RecallCopy = z.infer<typeof RecallCopy>;

/**
 * msgType → modifyMsg's `message_type` (the kinds modifyMsg can edit). Maps, not object literals: a
 * lookup of an attacker's `"constructor"` or `"toString"` must find nothing.
 */
export const MESSAGE_TYPES: ReadonlyMap<string, number> = new Map([
  ["TEXT", 0],
  ["PICTURE", 1],
  ["AUDIO", 2],
  ["VIDEO", 3],
  ["LOCATION", 4],
  ["FILE", 6],
  ["TIPS", 10],
  ["CUSTOM", 100],
]);

/** convType → modifyMsg's `type` and im-edit's kind. CUSTOM_* are system notifications: not editable. */
export const CONVERSATIONS: ReadonlyMap<
  string,
  { type: 1 | 2 | 3; kind: "p2p" | "team" | "superteam"; editable: boolean }
> = new Map([
  ["PERSON", { type: 1, kind: "p2p", editable: true }],
  ["TEAM", { type: 2, kind: "team", editable: true }],
  ["SUPER_TEAM", { type: 3, kind: "superteam", editable: true }],
  ["CUSTOM_PERSON", { type: 1, kind: "p2p", editable: false }],
  ["CUSTOM_TEAM", { type: 2, kind: "team", editable: false }],
] as const);

export const NETEASE_OK = { code: 200 } as const;

const IDS = new Set(["msgidServer", "deleteMsgid", "msgid"]);

/**
 * Parses a copy keeping ids exact: if a sender ever writes an id as a JSON number, its digits are read
 * from the source text (Node 24's reviver context) instead of a rounded double.
 */
export function parseCopy(body: Uint8Array): Record<string, unknown> {
  const value = parseJsonBody(body, (key, parsed, context) =>
    IDS.has(key) && typeof parsed === "number" && context?.source !== undefined ? context.source : parsed,
  );
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new BadRequestError("message copy must be a JSON object");
  }
  const copy = value as Record<string, unknown>;
  // eventType is documented as a string; a number means the same. Anything else names no event.
  const eventType = Object.hasOwn(copy, "eventType") ? copy.eventType : undefined;
  if (typeof eventType === "number") copy.eventType = String(eventType);
  else if (eventType !== undefined && typeof eventType !== "string")
    throw new BadRequestError("eventType must be a string", { code: "validation_failed" });
  return copy;
}
