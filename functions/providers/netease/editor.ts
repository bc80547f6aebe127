import { z } from "zod";
import { ConflictError, NotFoundError, UnprocessableError } from "../../core/errors.ts";
import type { Content, MessageHead } from "../../core/model.ts";
import type { EditChange, EditPlan, ProviderEditor } from "../../core/provider.ts";
import { parseWith } from "../../validation.ts";
import type { NeteaseRestClient } from "./rest.ts";

/** modifyMsg's documented limits (netease-yunxin-notes §2.2-2.3). */
export const LIMITS = { text: 5000, attachment: 5000, extension: 1024 } as const;

const bool = z.boolean().optional();
const str = (max: number) => z.string().max(max).optional();

/**
 * Edit body for Yunxin messages: the new `text`, `attachment` (an object), `extension`, and modifyMsg's
 * options as documented; `operator` overrides the configured one (default: the original sender).
 */
export const NeteaseEditBody = z
  .strictObject({
    text: z.string().optional(),
    attachment: z.record(z.string(), z.unknown()).optional(),
    extension: z.string().optional(),
    sub_type: z.number().int().positive().optional(),
    operator: z.string().min(1).max(64).optional(),
    push_config: z
      .strictObject({
        push_enabled: bool,
        push_nick_enabled: bool,
        push_content: str(500),
        push_payload: str(2048),
        push_forcepush_enable: bool,
        push_forcepush_all: bool,
        push_forcepush_ids: z.array(z.string()).max(100).optional(),
        push_forcepush_content: str(500),
      })
      .optional(),
    antispam_config: z
      .strictObject({
        antispam_enabled: bool,
        antispam_business_id: z.string().optional(),
        antispam_extension: str(1024),
        antispam_cheating: str(1024),
        antispam_custom_message_enabled: bool,
        antispam_custom_message: z.string().optional(),
      })
      .optional(),
    route_config: z
      .strictObject({ route_enabled: bool, route_environment: z.string().optional() })
      .optional(),
    message_config: z.strictObject({ conversation_update_enabled: bool }).optional(),
    p2p_option: z.strictObject({ check_friend: bool }).optional(),
    team_option: z
      .strictObject({
        ignore_chat_banned: bool,
        ignore_member_chat_banned: bool,
        check_team_member_valid: bool,
      })
      .optional(),
    superteam_option: z
      .strictObject({
        ignore_chat_banned: bool,
        ignore_member_chat_banned: bool,
        check_team_member_valid: bool,
      })
      .optional(),
  })
  .refine(
    (body) => body.text !== undefined || body.attachment !== undefined || body.extension !== undefined,
    {
      message: "send at least one of text, attachment, extension",
    },
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

  const checkLimits = (content: Content): void => {
    const problems: string[] = [];
    const text = content.text as string | undefined;
    if (text !== undefined && text.length > LIMITS.text)
      problems.push(`text is ${text.length} characters (at most ${LIMITS.text})`);
    if (content.attachment !== undefined) {
      const length = JSON.stringify(content.attachment).length;
      if (length > LIMITS.attachment)
        problems.push(`attachment is ${length} characters of JSON (at most ${LIMITS.attachment})`);
    }
    const extension = content.extension as string | undefined;
    if (extension !== undefined && extension.length > LIMITS.extension) {
      problems.push(`extension is ${extension.length} characters (at most ${LIMITS.extension})`);
    }
    if (problems.length > 0) {
      throw new UnprocessableError(`Yunxin would refuse this content: ${problems.join("; ")}`, {
        code: "content_refused",
        details: { problems },
      });
    }
  };

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
      checkLimits(content);
      return { content, send: { ...changed, ...optionsOf(edit) } };
    },

    planRestore(head: MessageHead, target: Content): EditPlan {
      const reason = this.notRestorable(target);
      if (reason !== undefined) throw new UnprocessableError(reason, { code: "not_restorable" });
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

    notRestorable(content: Content): string | undefined {
      if (content.attachmentRaw !== undefined)
        return "this version's attachment is not JSON; modifyMsg takes an object";
      try {
        checkLimits(content);
      } catch (error: unknown) {
        return error instanceof Error ? error.message : "over Yunxin's limits";
      }
      return undefined;
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
      await rest.call("POST", "/im/v2/messages/actions/modifyMsg", JSON.stringify(body), {
        operation: "modifyMsg",
        deadline,
        resendAfterSend: false,
        rateKeys: [
          `netease:${config.appKey}:modifyMsg`,
          `netease:${config.appKey}:modifyMsg:${head.key.msgId}`,
        ],
      });
      return {};
    },

    async readBack(head: MessageHead, deadline: number): Promise<Content | null | undefined> {
      const conversation = encodeURIComponent(`${head.key.from}|${head.key.type}|${head.key.to}`);
      const reply = await rest
        .call(
          "GET",
          `/im/v2.1/conversations/${conversation}/messages/${head.key.msgId}?message_time=${head.key.time}`,
          undefined,
          {
            operation: "queryMessage",
            deadline,
            resendAfterSend: true,
            rateKeys: [`netease:${config.appKey}:queryMessage`],
          },
        )
        .catch((error: unknown) => {
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
  };
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
