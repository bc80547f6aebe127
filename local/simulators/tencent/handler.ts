import type { CallbackJob } from "./callbacks.ts";
import type { JsonObject } from "./fields.ts";
import type { MessageStore } from "./store.ts";

/** What a handler sees: the request has already passed URL, UserSig, rate-limit and JSON checks. */
export interface ApiContext {
  readonly admin: string;
  readonly nowMs: number;
  readonly store: MessageStore;
  /** C2C roaming storage (admin_getroammsg shows only messages sent within it), ms. */
  readonly roamingMs: number;
}

/** A handled request: the answer fields beyond the envelope, and the callbacks the change triggers. */
export interface Handled {
  readonly answer?: JsonObject;
  /** `ErrorInfo` of the OK envelope ("succeed" on the modify pages, "" elsewhere). */
  readonly info?: string;
  readonly callbacks?: readonly CallbackJob[];
}

export interface ApiSpec {
  readonly service: "openim" | "group_open_http_svc";
  readonly command: string;
  /** Carries a message (send/modify): bodies over 12 KB are refused with 93000. */
  readonly carriesMessage: boolean;
  /** Its callback follows the simulator's `echo` option (the modify APIs); others call back before answering. */
  readonly echoes: boolean;
  /** Validates everything before changing anything: a thrown TencentError means nothing was applied. */
  handle(context: ApiContext, body: JsonObject): Handled;
}

export const seconds = (ms: number): number => Math.floor(ms / 1000);

/** Tencent caps history answers at about 13 KB (tencent-chat-notes §5.4); at least one item always fits. */
const PAGE_BUDGET_BYTES = 13 * 1024;

export function takeWithinBudget<T>(items: readonly T[], max: number): { taken: T[]; truncated: boolean } {
  const taken: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (taken.length === max) return { taken, truncated: false };
    const size = Buffer.byteLength(JSON.stringify(item));
    if (taken.length > 0 && bytes + size > PAGE_BUDGET_BYTES) return { taken, truncated: true };
    bytes += size;
    taken.push(item);
  }
  return { taken, truncated: false };
}
