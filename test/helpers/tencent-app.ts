import { SlidingWindowLimiter } from "../../functions/core/limiter.ts";
import { TencentRestClient } from "../../functions/providers/tencent/rest.ts";
import { UserSigCache } from "../../functions/providers/tencent/usersig.ts";
import type { LocalStack } from "../../local/stack.ts";

/**
 * The chat app's own backend talking to (simulated) Tencent: sends messages with the documented REST
 * APIs, which makes Tencent call the recorder back, as in production.
 */
export function tencentApp(stack: LocalStack) {
  const edit = stack.config.tencent?.edit;
  if (!edit) throw new Error("the stack has no Tencent credentials");
  const rest = new TencentRestClient({
    baseUrl: edit.baseUrl,
    sdkAppId: stack.config.tencent?.sdkAppId ?? "",
    identifier: edit.adminIdentifier,
    userSig: new UserSigCache(stack.config.tencent?.sdkAppId ?? "", edit.secretKey, edit.adminIdentifier),
    limiter: new SlidingWindowLimiter(() => ({ limit: 1000, windowMs: 1000 })),
  });
  const call = (service: string, command: string, body: unknown) =>
    rest.call(service, command, body, { deadline: Date.now() + 5_000, resendAfterSend: false });
  return {
    async sendC2C(from: string, to: string, text: string, cloudCustomData?: string): Promise<string> {
      const reply = await call("openim", "sendmsg", {
        From_Account: from,
        To_Account: to,
        MsgRandom: Math.floor(Math.random() * 4_294_967_295),
        MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: text } }],
        ...(cloudCustomData !== undefined ? { CloudCustomData: cloudCustomData } : {}),
      });
      return String(reply.MsgKey);
    },
    async sendGroup(groupId: string, from: string, text: string, topicId?: string): Promise<number> {
      const reply = await call("group_open_http_svc", "send_group_msg", {
        GroupId: groupId,
        From_Account: from,
        Random: Math.floor(Math.random() * 4_294_967_295),
        MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: text } }],
        ...(topicId !== undefined ? { TopicId: topicId } : {}),
      });
      return Number(reply.MsgSeq);
    },
    async recallC2C(from: string, to: string, msgKey: string): Promise<void> {
      await call("openim", "admin_msgwithdraw", { From_Account: from, To_Account: to, MsgKey: msgKey });
    },
    call,
  };
}
