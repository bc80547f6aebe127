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
import { CONTENT_FIELDS, NeteaseEditBody, optionsOf, problemsOf, requiredFields } from "./edit-body.ts";
import { neteaseError } from "./errors.ts";
import { neteaseHistory, neteaseHistoryProblem } from "./history.ts";
import type { NeteaseReply, NeteaseRestClient } from "./rest.ts";

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

  const refuse = (problems: string[], code: "content_refused" | "not_restorable"): never => {
    throw new UnprocessableError(`Yunxin would refuse this content: ${problems.join("; ")}`, {
      code,
      details: { problems },
    });
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
      return { content, send: { ...requiredFields(head, content), ...changed, ...optionsOf(edit) } };
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

function withoutKeys(object: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([key]) => !keys.includes(key)));
}
