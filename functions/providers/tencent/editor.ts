import { UnprocessableError } from "../../core/errors.ts";
import type { Content, MessageHead } from "../../core/model.ts";
import type { EditChange, EditPlan, HistoryQuery, ProviderEditor } from "../../core/provider.ts";
import { parseWith } from "../../validation.ts";
import * as z from "../../zod.ts";
import { MsgBody } from "./callback.ts";
import { contentBytes, elementProblems, MAX_CONTENT_BYTES } from "./elements.ts";
import { tencentHistory, tencentHistoryProblem } from "./history.ts";
import type { TencentRestClient } from "./rest.ts";

/**
 * Edit body for Tencent messages: `MsgBody` and/or `CloudCustomData` as modify_c2c_msg /
 * modify_group_msg take them, or `{ "text": "..." }` to replace the text element(s) and keep the rest.
 */
export const TencentEditBody = z
  .strictObject({
    text: z.optional(z.string()),
    MsgBody: z.optional(MsgBody.check(z.minLength(1))),
    CloudCustomData: z.optional(z.string()),
  })
  .check(
    z.refine(
      (body) => body.text !== undefined || body.MsgBody !== undefined || body.CloudCustomData !== undefined,
      { message: "send at least one of text, MsgBody, CloudCustomData" },
    ),
    z.refine((body) => body.text === undefined || body.MsgBody === undefined, {
      message: "send either text or MsgBody, not both",
    }),
  );
export type TencentEditBody = z.infer<typeof TencentEditBody>;

export interface TencentEditorConfig {
  readonly sdkAppId: string;
  readonly rest: TencentRestClient;
}

type Element = { MsgType: string; MsgContent: Record<string, unknown> };

export function createTencentEditor(config: TencentEditorConfig): ProviderEditor {
  const { rest } = config;

  const checkSendable = (send: Content, content: Content): void => {
    const body = send.MsgBody as Element[] | undefined;
    const problems = body ? elementProblems(body) : [];
    const size = contentBytes(
      content.MsgBody as unknown[] | undefined,
      content.CloudCustomData as string | undefined,
    );
    if (size > MAX_CONTENT_BYTES)
      problems.push(`content is ${size} bytes; Tencent takes at most ${MAX_CONTENT_BYTES}`);
    if (problems.length > 0) {
      throw new UnprocessableError(`Tencent would refuse this content: ${problems.join("; ")}`, {
        code: "content_refused",
        details: { problems },
      });
    }
  };

  return {
    name: "tencent",
    appId: config.sdkAppId,

    parseChange(body: unknown): EditChange {
      return parseWith(TencentEditBody, body, "invalid edit for a Tencent message");
    },

    plan(head: MessageHead, change: EditChange): EditPlan {
      const edit = change as TencentEditBody;
      const current = (head.content?.MsgBody as Element[] | undefined) ?? [];
      const msgBody = edit.MsgBody ?? (edit.text !== undefined ? replaceText(current, edit.text) : undefined);
      const send: Content = {
        ...(msgBody !== undefined ? { MsgBody: msgBody } : {}),
        ...(edit.CloudCustomData !== undefined ? { CloudCustomData: edit.CloudCustomData } : {}),
      };
      const content = { ...(head.content ?? {}), ...send };
      checkSendable(send, content);
      return { content, send };
    },

    planRestore(_head: MessageHead, target: Content): EditPlan {
      const reason = this.notRestorable(target);
      if (reason !== undefined) throw new UnprocessableError(reason, { code: "not_restorable" });
      // The modify API overwrites only what is sent: send every field so nothing of later versions survives.
      const send: Content = { MsgBody: target.MsgBody ?? [], CloudCustomData: target.CloudCustomData ?? "" };
      return { content: send, send };
    },

    notRestorable(content: Content): string | undefined {
      const body = content.MsgBody;
      if (!Array.isArray(body) || body.length === 0) return "this version has no message body to send back";
      const problems = elementProblems(body);
      if (problems.length > 0)
        return `this version holds elements the REST API cannot send back (${problems.join("; ")})`;
      if (contentBytes(body, content.CloudCustomData as string | undefined) > MAX_CONTENT_BYTES) {
        return "this version is larger than Tencent's 12 KB";
      }
      return undefined;
    },

    checkEditable(): void {
      // Tencent documents no age limit for modify_c2c_msg / modify_group_msg.
    },

    rateKeys: (head: MessageHead) => [
      `tencent:${config.sdkAppId}:${head.kind === "c2c" ? "modify_c2c_msg" : "modify_group_msg"}`,
    ],

    async modify(head: MessageHead, send: Content, deadline: number) {
      const [command, target] =
        head.kind === "c2c" ? ["modify_c2c_msg", c2cTarget(head)] : ["modify_group_msg", groupTarget(head)];
      const reply = await rest.call(
        "openim",
        command,
        { ...target, ...send },
        { deadline, resendAfterSend: false },
      );
      return reply.RequestId !== undefined ? { providerRequestId: reply.RequestId } : {};
    },

    /** Not found in the history APIs decides nothing (7-day roaming window, holes): undefined. */
    async readBack(head: MessageHead, deadline: number): Promise<Content | undefined> {
      const found = await find(rest, head, deadline);
      return found ? contentOf(found) : undefined;
    },

    /** Recalled: `MsgFlagBits` bit 8 (admin_getroammsg) or `IsPlaceMsg` 2 (group_msg_get_simple). */
    async probe(head: MessageHead, deadline: number) {
      if (head.key.msgKey === undefined && head.key.msgSeq === undefined) return undefined;
      const found = await find(rest, head, deadline);
      if (!found) return undefined;
      return (Number(found.MsgFlagBits ?? 0) & RECALLED_FLAG) !== 0 || found.IsPlaceMsg === RECALLED_PLACE
        ? "recalled"
        : "present";
    },

    historyProblem: tencentHistoryProblem,

    history: (query: HistoryQuery, pageToken: string | undefined, deadline: number) =>
      tencentHistory(rest, config.sdkAppId, query, pageToken, deadline),
  };
}

/** `{ text }`: the first text element takes the text, other text elements go, everything else stays. */
export function replaceText(body: readonly Element[], text: string): Element[] {
  const first = body.findIndex((element) => element.MsgType === "TIMTextElem");
  if (first === -1) return [...body, { MsgType: "TIMTextElem", MsgContent: { Text: text } }];
  return body.flatMap((element, index) => {
    if (element.MsgType !== "TIMTextElem") return [element];
    return index === first ? [{ ...element, MsgContent: { ...element.MsgContent, Text: text } }] : [];
  });
}

const c2cTarget = (head: MessageHead) => ({
  From_Account: head.key.from,
  To_Account: head.key.to,
  MsgKey: head.key.msgKey,
});

function groupTarget(head: MessageHead) {
  return {
    GroupId: head.key.groupId,
    MsgSeq: Number(head.key.msgSeq),
    // TopicId "" means no topic: omitted, as the API documents it as topic-communities only.
    ...(head.key.topicId ? { TopicId: head.key.topicId } : {}),
  };
}

interface HistoryItem {
  readonly MsgKey?: string;
  readonly MsgSeq?: number;
  readonly IsPlaceMsg?: number;
  readonly MsgFlagBits?: number;
  readonly MsgBody?: unknown;
  readonly CloudCustomData?: unknown;
}

const RECALLED_FLAG = 8;
const RECALLED_PLACE = 2;

/** The message as the history APIs show it; undefined when they do not (roaming window, holes). */
const find = (
  rest: TencentRestClient,
  head: MessageHead,
  deadline: number,
): Promise<HistoryItem | undefined> =>
  head.kind === "c2c" ? readC2C(rest, head, deadline) : readGroup(rest, head, deadline);

const contentOf = (item: HistoryItem): Content => ({
  ...(item.MsgBody !== undefined ? { MsgBody: item.MsgBody } : {}),
  ...(typeof item.CloudCustomData === "string" ? { CloudCustomData: item.CloudCustomData } : {}),
});

/** admin_getroammsg from the sender's side, around the message's second, paging until it is found. */
async function readC2C(
  rest: TencentRestClient,
  head: MessageHead,
  deadline: number,
): Promise<HistoryItem | undefined> {
  const msgTime = Number(head.key.msgTime ?? Math.floor(Date.parse(head.createdAt) / 1000));
  let maxTime = msgTime;
  let lastMsgKey: string | undefined;
  for (let page = 0; page < 50; page++) {
    const reply = await rest.call(
      "openim",
      "admin_getroammsg",
      {
        Operator_Account: head.key.from,
        Peer_Account: head.key.to,
        MaxCnt: 100,
        MinTime: msgTime,
        MaxTime: maxTime,
        ...(lastMsgKey !== undefined ? { LastMsgKey: lastMsgKey } : {}),
      },
      { deadline, resendAfterSend: true },
    );
    const list = (reply.MsgList ?? []) as HistoryItem[];
    const found = list.find((item) => item.MsgKey === head.key.msgKey);
    if (found) return found;
    if (reply.Complete === 1 || list.length === 0 || typeof reply.LastMsgKey !== "string") return undefined;
    lastMsgKey = reply.LastMsgKey;
    maxTime = typeof reply.LastMsgTime === "number" ? reply.LastMsgTime : maxTime;
  }
  return undefined;
}

/** group_msg_get_simple for exactly this MsgSeq (recalled included, holes are "not there"). */
async function readGroup(
  rest: TencentRestClient,
  head: MessageHead,
  deadline: number,
): Promise<HistoryItem | undefined> {
  const seq = Number(head.key.msgSeq);
  const reply = await rest.call(
    "group_open_http_svc",
    "group_msg_get_simple",
    {
      GroupId: head.key.groupId,
      ReqMsgSeq: seq,
      ReqMsgNumber: 1,
      WithRecalledMsg: 1,
      ...(head.key.topicId ? { TopicId: head.key.topicId } : {}),
    },
    { deadline, resendAfterSend: true },
  );
  const list = (reply.RspMsgList ?? []) as HistoryItem[];
  return list.find((item) => item.MsgSeq === seq && item.IsPlaceMsg !== 1);
}
