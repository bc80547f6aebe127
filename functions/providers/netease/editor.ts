import {
  ConflictError,
  isAppError,
  NotFoundError,
  OutcomeUnknownError,
  UnprocessableError,
} from "../../core/errors.ts";
import type { Content, MessageHead } from "../../core/model.ts";
import type { EditChange, EditPlan, HistoryQuery, ProviderEditor } from "../../core/provider.ts";
import { parseWith } from "../../validation.ts";
import * as z from "../../zod.ts";
import { neteaseError } from "./errors.ts";
import { neteaseHistory, neteaseHistoryProblem } from "./history.ts";
import type { NeteaseReply, NeteaseRestClient } from "./rest.ts";

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

const CONTENT_FIELDS = ["text", "attachment", "extension"] as const;
const OPTION_FIELDS = [
  "push_config",
  "antispam_config",
  "message_config",
  "p2p_option",
  "team_option",
  "superteam_option",
] as const;

export interface NeteaseEditorConfig {
  readonly appKey: string;
  readonly rest: NeteaseRestClient;
  /** Who edits at Yunxin; default the message's sender (the docs let the sender and the team owner edit). */
  readonly operator?: string;
  /** Yunxin's route_config.route_enabled default (true): our edit comes back as a message copy. */
  readonly routeEnabled: boolean;
  /** Yunxin edits only messages younger than 7 days; this is that minus a safety margin. */
  readonly maxAgeMs: number;
}

export function createNeteaseEditor(config: NeteaseEditorConfig): ProviderEditor {
  const { rest } = config;

  /** Problems Yunxin would answer 414 for; per message type when the message is known. */
  const problemsOf = (content: Content, head?: MessageHead): string[] => {
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
  };

  const refuse = (problems: string[], code: "content_refused" | "not_restorable"): never => {
    throw new UnprocessableError(`Yunxin would refuse this content: ${problems.join("; ")}`, {
      code,
      details: { problems },
    });
  };

  /**
   * What modifyMsg must carry besides the changed fields: the message's current text for text and tip
   * messages, its current attachment for the others (both required on every call).
   */
  const required = (head: MessageHead, content: Content): Content => {
    if (isTextual(head)) return content.text !== undefined ? { text: content.text } : {};
    return content.attachment !== undefined ? { attachment: content.attachment } : {};
  };

  /** A signed read of the message: accepted (even as 404) proves our AppKey, CheckSum and CurTime. */
  const identityAccepted = async (head: MessageHead, deadline: number): Promise<boolean | undefined> => {
    try {
      await readMessage(head, Math.min(deadline, Date.now() + 1_500));
      return true;
    } catch (error: unknown) {
      if (!isAppError(error) || error.providerCode === undefined) return undefined;
      return error.providerCode !== 414;
    }
  };

  const readMessage = (head: MessageHead, deadline: number) => {
    const conversation = encodeURIComponent(`${head.key.from}|${head.key.type}|${head.key.to}`);
    return rest.call(
      "GET",
      `/im/v2.1/conversations/${conversation}/messages/${head.key.msgId}?message_time=${head.key.time}`,
      undefined,
      {
        operation: "queryMessage",
        deadline,
        resendAfterSend: true,
        rateKeys: [`netease:${config.appKey}:queryMessage`],
      },
    );
  };

  // App-wide, and one edit per message per 1.1 s (ARCHITECTURE.md "Rate contract").
  const modifyKeys = (head: MessageHead): string[] => [
    `netease:${config.appKey}:modifyMsg`,
    `netease:${config.appKey}:modifyMsg:${head.key.msgId}`,
  ];

  return {
    name: "netease",
    appId: config.appKey,

    parseChange(body: unknown): EditChange {
      return parseWith(NeteaseEditBody, body, "invalid edit for a Yunxin message");
    },

    plan(head: MessageHead, change: EditChange): EditPlan {
      const edit = change as NeteaseEditBody;
      const changed: Record<string, unknown> = {};
      for (const field of CONTENT_FIELDS) if (edit[field] !== undefined) changed[field] = edit[field];
      const base: Record<string, unknown> = { ...(head.content ?? {}) };
      // A new attachment object replaces an attachment that was stored raw (not JSON).
      if (edit.attachment !== undefined) delete base.attachmentRaw;
      const content = { ...base, ...changed };
      const problems = problemsOf(content, head);
      if (problems.length > 0) refuse(problems, "content_refused");
      return { content, send: { ...required(head, content), ...changed, ...optionsOf(edit) } };
    },

    planRestore(head: MessageHead, target: Content): EditPlan {
      const reason = this.notRestorable(target);
      if (reason !== undefined) throw new UnprocessableError(reason, { code: "not_restorable" });
      // The version must meet its message type's rules: text for text and tip messages, an attachment
      // for the others (modifyMsg requires them on every call, so they cannot be sent back empty).
      const problems = problemsOf(target, head);
      if (problems.length > 0) refuse(problems, "not_restorable");
      // modifyMsg overwrites only what is sent: send every field, empty where the version had none.
      const send: Content = {
        text: target.text ?? "",
        extension: target.extension ?? "",
        ...(target.attachment !== undefined || head.content?.attachment !== undefined
          ? { attachment: target.attachment ?? {} }
          : {}),
      };
      return { content: send, send };
    },

    /** Without the message, only the rules every type shares (the per-type ones apply in planRestore). */
    notRestorable(content: Content): string | undefined {
      if (content.attachmentRaw !== undefined)
        return "this version's attachment is not JSON; modifyMsg takes an object";
      const problems = problemsOf(content);
      return problems.length > 0 ? `Yunxin would refuse this content: ${problems.join("; ")}` : undefined;
    },

    checkEditable(head: MessageHead, now: Date): void {
      const age = now.getTime() - Number(head.key.time);
      if (age > config.maxAgeMs) {
        throw new ConflictError(
          `Yunxin edits only messages younger than 7 days; this one is ${Math.floor(age / 3_600_000)} h old`,
          { code: "too_old" },
        );
      }
    },

    rateKeys: (head: MessageHead) => modifyKeys(head),

    async modify(head: MessageHead, send: Content, deadline: number) {
      const options = (send.options ?? {}) as Record<string, unknown>;
      const body = {
        operator: (options.operator as string | undefined) ?? config.operator ?? head.key.from,
        type: Number(head.key.type),
        message: {
          // Exact digits: message ids exceed 2^53, so the number is written from the string.
          message_server_id: JSON.rawJSON(String(head.key.msgId)),
          receiver_id: head.key.to,
          time: Number(head.key.time),
          sender_id: head.key.from,
          message_type: Number(head.key.messageType),
          ...(options.sub_type !== undefined ? { sub_type: options.sub_type } : {}),
          ...(send.text !== undefined ? { text: send.text } : {}),
          ...(send.attachment !== undefined ? { attachment: send.attachment } : {}),
        },
        ...(send.extension !== undefined ? { extension: send.extension } : {}),
        ...withoutKeys(options, ["operator", "sub_type", "route_config"]),
        route_config: { route_enabled: config.routeEnabled, ...(options.route_config as object | undefined) },
      };
      let reply: NeteaseReply;
      try {
        reply = await rest.call("POST", "/im/v2/messages/actions/modifyMsg", JSON.stringify(body), {
          operation: "modifyMsg",
          deadline,
          resendAfterSend: false,
          rateKeys: modifyKeys(head),
        });
      } catch (error: unknown) {
        if (!isAppError(error) || error.providerCode !== 414) throw error;
        // 414: our identity or the edit's fields? A signed read of the same message tells (errors.ts).
        const accepted = await identityAccepted(head, deadline);
        const msg = (error.details as { msg?: string } | undefined)?.msg ?? "";
        throw accepted === undefined ? error : neteaseError(414, msg, accepted ? "parameters" : "identity");
      }
      return notModified(reply);
    },

    async readBack(head: MessageHead, deadline: number): Promise<Content | null | undefined> {
      const reply = await readMessage(head, deadline).catch((error: unknown) => {
        if (error instanceof NotFoundError) return null; // Yunxin says the message does not exist
        throw error;
      });
      if (reply === null) return null;
      const data = reply.data;
      if (!data) return undefined;
      return {
        ...(typeof data.text === "string" && data.text !== "" ? { text: data.text } : {}),
        ...(data.attachment !== null && typeof data.attachment === "object"
          ? { attachment: data.attachment }
          : {}),
        ...(typeof data.extension === "string" && data.extension !== "" ? { extension: data.extension } : {}),
      };
    },

    historyProblem: (query: HistoryQuery) => neteaseHistoryProblem(config, query),

    history: (query: HistoryQuery, pageToken: string | undefined, deadline: number) =>
      neteaseHistory(config, query, pageToken, deadline),
  };
}

/**
 * modifyMsg's 200 `data` carries `modify_account_id` and `modify_time` "only when the message was
 * updated" (只有消息被更新才会返回该字段, the modifyMsg page): without them Yunxin says it changed
 * nothing, so there is no new version (409 `not_modified`; the intent is dropped). A 200 with no `data`
 * object at all says neither: unknown, settled by the copy or a read-back.
 */
function notModified(reply: NeteaseReply): Record<string, never> {
  const data = reply.data;
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new OutcomeUnknownError("Yunxin answered modifyMsg with 200 but no data", {
      details: { outcome: "unknown" },
    });
  }
  if (data.modify_time === undefined && data.modify_account_id === undefined) {
    throw new ConflictError(
      "Yunxin answered modifyMsg with success but reports no modification (no modify_time in its data): nothing was changed or recorded",
      { code: "not_modified" },
    );
  }
  return {};
}

/** The modifyMsg options of an edit body, sent along but not part of the message's content. */
function optionsOf(edit: NeteaseEditBody): Content {
  const options: Record<string, unknown> = {};
  for (const field of OPTION_FIELDS) if (edit[field] !== undefined) options[field] = edit[field];
  if (edit.route_config !== undefined) options.route_config = edit.route_config;
  if (edit.operator !== undefined) options.operator = edit.operator;
  if (edit.sub_type !== undefined) options.sub_type = edit.sub_type;
  return Object.keys(options).length > 0 ? { options } : {};
}

function withoutKeys(object: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([key]) => !keys.includes(key)));
}
