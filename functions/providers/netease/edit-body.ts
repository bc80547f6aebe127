// What a Yunxin edit is: the edit body, modifyMsg's documented limits and what each message type requires.
import type { Content, MessageHead } from "../../core/model.ts";
import * as z from "../../zod.ts";

/**
 * modifyMsg's documented limits (netease-yunxin-modifyMsg.zh.txt, notes §2.2-2.3): `text` is the message
 * for text (0) and tip (10) messages, at most 5000 characters, and a searchable description of at most 500
 * for the other types; `attachment` at most 5000 as JSON; `extension` 1024 (the 2024 doc).
 */
export const LIMITS = { text: 5000, description: 500, attachment: 5000, extension: 1024 } as const;

/** modifyMsg message_types whose `text` is the message itself, required on every call. */
const TEXTUAL_TYPES: ReadonlySet<string> = new Set(["0", "10"]);
const isTextual = (head: MessageHead): boolean => TEXTUAL_TYPES.has(String(head.key.messageType));

const bool = z.optional(z.boolean());
const str = (max: number) => z.optional(z.string().check(z.maxLength(max)));

/**
 * Edit body for Yunxin messages: the new `text`, `attachment` (an object), `extension`, and modifyMsg's
 * options as documented; `operator` overrides the configured one (default: the original sender).
 */
export const NeteaseEditBody = z
  .strictObject({
    text: z.optional(z.string()),
    attachment: z.optional(z.record(z.string(), z.unknown())),
    extension: z.optional(z.string()),
    sub_type: z.optional(z.number().check(z.int(), z.positive())),
    operator: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
    push_config: z.optional(
      z.strictObject({
        push_enabled: bool,
        push_nick_enabled: bool,
        push_content: str(500),
        push_payload: str(2048),
        push_forcepush_enable: bool,
        push_forcepush_all: bool,
        push_forcepush_ids: z.optional(z.array(z.string()).check(z.maxLength(100))),
        push_forcepush_content: str(500),
      }),
    ),
    antispam_config: z.optional(
      z.strictObject({
        antispam_enabled: bool,
        antispam_business_id: z.optional(z.string()),
        antispam_extension: str(1024),
        antispam_cheating: str(1024),
        antispam_custom_message_enabled: bool,
        antispam_custom_message: z.optional(z.string()),
      }),
    ),
    route_config: z.optional(
      z.strictObject({ route_enabled: bool, route_environment: z.optional(z.string()) }),
    ),
    message_config: z.optional(z.strictObject({ conversation_update_enabled: bool })),
    p2p_option: z.optional(z.strictObject({ check_friend: bool })),
    team_option: z.optional(
      z.strictObject({
        ignore_chat_banned: bool,
        ignore_member_chat_banned: bool,
        check_team_member_valid: bool,
      }),
    ),
    superteam_option: z.optional(
      z.strictObject({
        ignore_chat_banned: bool,
        ignore_member_chat_banned: bool,
        check_team_member_valid: bool,
      }),
    ),
  })
  .check(
    z.refine(
      (body) => body.text !== undefined || body.attachment !== undefined || body.extension !== undefined,
      { message: "send at least one of text, attachment, extension" },
    ),
  );
export type NeteaseEditBody = z.infer<typeof NeteaseEditBody>;

export const CONTENT_FIELDS = ["text", "attachment", "extension"] as const;
const OPTION_FIELDS = [
  "push_config",
  "antispam_config",
  "message_config",
  "p2p_option",
  "team_option",
  "superteam_option",
] as const;

/** Problems Yunxin would answer 414 for; per message type when the message is known. */
export function problemsOf(content: Content, head?: MessageHead): string[] {
  const problems: string[] = [];
  const text = content.text as string | undefined;
  const textual = head !== undefined && isTextual(head);
  const max = head === undefined || textual ? LIMITS.text : LIMITS.description;
  if (text !== undefined && text.length > max) {
    problems.push(
      textual || head === undefined
        ? `text is ${text.length} characters (at most ${LIMITS.text})`
        : `text is ${text.length} characters; for message_type ${head.key.messageType} it is a description of at most ${LIMITS.description}`,
    );
  }
  if (content.attachment !== undefined) {
    const length = JSON.stringify(content.attachment).length;
    if (length > LIMITS.attachment)
      problems.push(`attachment is ${length} characters of JSON (at most ${LIMITS.attachment})`);
  }
  const extension = content.extension as string | undefined;
  if (extension !== undefined && extension.length > LIMITS.extension) {
    problems.push(`extension is ${extension.length} characters (at most ${LIMITS.extension})`);
  }
  if (head !== undefined && textual && (typeof text !== "string" || text === "")) {
    problems.push(
      `text is required for message_type ${head.key.messageType} (text and tip messages), and this message would have none`,
    );
  }
  if (head !== undefined && !textual && content.attachment === undefined) {
    problems.push(
      content.attachmentRaw !== undefined
        ? `attachment is required for message_type ${head.key.messageType}, and this message's attachment is not JSON (modifyMsg takes an object): send attachment`
        : `attachment is required for message_type ${head.key.messageType}, and this message has none: send attachment`,
    );
  }
  return problems;
}

/**
 * What modifyMsg must carry besides the changed fields: the message's current text for text and tip
 * messages, its current attachment for the others (both required on every call).
 */
export function requiredFields(head: MessageHead, content: Content): Content {
  if (isTextual(head)) return content.text !== undefined ? { text: content.text } : {};
  return content.attachment !== undefined ? { attachment: content.attachment } : {};
}

/** The modifyMsg options of an edit body, sent along but not part of the message's content. */
export function optionsOf(edit: NeteaseEditBody): Content {
  const options: Record<string, unknown> = {};
  for (const field of OPTION_FIELDS) if (edit[field] !== undefined) options[field] = edit[field];
  if (edit.route_config !== undefined) options.route_config = edit.route_config;
  if (edit.operator !== undefined) options.operator = edit.operator;
  if (edit.sub_type !== undefined) options.sub_type = edit.sub_type;
  return Object.keys(options).length > 0 ? { options } : {};
}
