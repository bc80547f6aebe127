import { SlidingWindowLimiter } from "../../functions/core/limiter.ts";
import { NeteaseRestClient } from "../../functions/providers/netease/rest.ts";
import type { LocalStack } from "../../local/stack.ts";

/**
 * The chat app's backend talking to (simulated) Yunxin: sends messages with the v2 send API, which
 * makes Yunxin copy them to the recorder (消息抄送), as in production. Returns the server id (a string).
 */
export function neteaseApp(stack: LocalStack) {
  const netease = stack.config.netease;
  if (!netease) throw new Error("the stack has no Yunxin credentials");
  const rest = new NeteaseRestClient({
    baseUrl: netease.edit.baseUrl,
    appKey: netease.appKey,
    appSecret: netease.appSecret,
    limiter: new SlidingWindowLimiter(() => ({ limit: 1000, windowMs: 1000 })),
  });
  return {
    appKey: netease.appKey,
    async send(
      from: string,
      to: string,
      message: Record<string, unknown>,
      type: 1 | 2 | 3 = 1,
    ): Promise<string> {
      const conversation = encodeURIComponent(`${from}|${type}|${to}`);
      const reply = await rest.call(
        "POST",
        `/im/v2/conversations/${conversation}/messages`,
        JSON.stringify({ message }),
        {
          operation: "send",
          deadline: Date.now() + 5_000,
          resendAfterSend: false,
          rateKeys: [],
        },
      );
      return String(reply.data?.message_server_id);
    },
    sendText(from: string, to: string, text: string): Promise<string> {
      return this.send(from, to, { message_type: 0, text });
    },
  };
}
