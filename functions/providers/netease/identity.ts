import { messageId } from "../../core/model.ts";

/**
 * Yunxin identity (ARCHITECTURE.md): AppKey + msgidServer. The id is a string everywhere in im-edit
 * and an exact JSON number only on the wire to Yunxin.
 */
export const neteaseId = (appKey: string, msgidServer: string): string =>
  messageId("nim", ["netease", appKey, msgidServer]);

export const neteaseLookupKey = (msgidServer: string): string => `msg|${msgidServer}`;

export function neteaseConversation(kind: "p2p" | "team" | "superteam", from: string, to: string): string {
  if (kind !== "p2p") return `${kind}:${part(to)}`;
  const [x, y] = from <= to ? [from, to] : [to, from];
  return `p2p:${part(x)}:${part(y)}`;
}

/** Percent-encoded; `toWellFormed` so no input can make `encodeURIComponent` throw (ill-formed text is refused earlier). */
const part = (value: string): string => encodeURIComponent(value.toWellFormed());
