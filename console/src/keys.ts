/**
 * What the "Message id or key" field accepts: an im-edit id (`c2c_…`, `grp_…`, `nim_…`), the natural-key
 * parameters of `GET /v1/messages` as a query string (`msgKey=…&from=…&to=…`, `groupId=…&msgSeq=…[&topicId=…]`,
 * `msgId=…`), or a bare key the provider field makes unambiguous: a Tencent MsgKey (`<seq>_<random>_<time>`)
 * or a Yunxin message server id (digits).
 */
export type MessageRef =
  | { readonly kind: "id"; readonly id: string }
  | { readonly kind: "key"; readonly params: Readonly<Record<string, string>> }
  | { readonly kind: "invalid"; readonly reason: string };

/** The same shape as the API's MESSAGE_ID_PATTERN (functions/core/model.ts). */
const MESSAGE_ID = /^[a-z][a-z0-9]{0,11}_[a-z2-7]{26}$/;
const KEY_PARAMETERS = new Set(["msgKey", "from", "to", "groupId", "msgSeq", "topicId", "msgId"]);
const MSG_KEY = /^\d+_\d+_\d+$/;
const YUNXIN_MSG_ID = /^\d{1,20}$/;

export function parseMessageRef(input: string, provider: string): MessageRef {
  const value = input.trim();
  if (value === "") return { kind: "invalid", reason: "Enter a message id or key." };
  if (MESSAGE_ID.test(value)) return { kind: "id", id: value };
  if (value.includes("=")) {
    const params: Record<string, string> = {};
    for (const [name, parameter] of new URLSearchParams(value.replace(/^\?/, ""))) {
      if (!KEY_PARAMETERS.has(name)) {
        return {
          kind: "invalid",
          reason: `"${name}" is not a key parameter (use ${[...KEY_PARAMETERS].join(", ")}).`,
        };
      }
      params[name] = parameter;
    }
    return { kind: "key", params };
  }
  if (provider === "tencent" && MSG_KEY.test(value)) return { kind: "key", params: { msgKey: value } };
  if (provider === "netease" && YUNXIN_MSG_ID.test(value)) return { kind: "key", params: { msgId: value } };
  return {
    kind: "invalid",
    reason:
      "Not an id or a key: paste an id such as c2c_…, a Tencent MsgKey, a Yunxin message id, or key parameters such as groupId=…&msgSeq=….",
  };
}
