import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tencentSign } from "../functions/providers/tencent/verify.ts";
import { APP_TOKEN, BEFORE_SEND_COMMAND, sha256, type Way } from "./relay-callbacks.ts";

/**
 * The app's side of the relay benchmark: its own callback handler on loopback, the answers it gives,
 * and the checks that each before-send got the app's decision back.
 */

const TENCENT_OK = { ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 };
const REWRITTEN_TEXT = "rewritten by the app";
export const ANSWERS = {
  allow: Buffer.from(JSON.stringify(TENCENT_OK)),
  rewrite: Buffer.from(
    JSON.stringify({
      ...TENCENT_OK,
      MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: REWRITTEN_TEXT } }],
    }),
  ),
} as const;
export type AnswerKind = keyof typeof ANSWERS;

/** What the app received, by way: what the checks look at. */
export interface App {
  readonly origin: string;
  answer: AnswerKind;
  requests: number;
  signed: number;
  /** Hashes of the before-send bodies that came through im-edit (they carry X-Im-Edit-Forward-Id). */
  readonly relayedBeforeSends: Set<string>;
  /** After-sends by forward id: each delivery's body hash, and its message id header. */
  readonly afterSends: Map<string, Array<{ hash: string; signed: boolean; messageId: boolean }>>;
  /** Called on each after-send delivery (the async part waits on it). */
  onAfterSend?: (() => void) | undefined;
  close(): Promise<void>;
}

/** The app's own callback handler on 127.0.0.1: checks Sign, answers before-sends as told, others OK. */
export async function startApp(): Promise<App> {
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const query = new URL(req.url ?? "/", "http://app").searchParams;
      const requestTime = query.get("RequestTime") ?? "";
      const signed = query.get("Sign") === tencentSign(APP_TOKEN, requestTime);
      app.requests++;
      if (signed) app.signed++;
      const forwardId = req.headers["x-im-edit-forward-id"];
      const command = query.get("CallbackCommand");
      if (command === BEFORE_SEND_COMMAND) {
        if (typeof forwardId === "string") app.relayedBeforeSends.add(sha256(body));
        res.writeHead(200, { "content-type": "application/json" }).end(ANSWERS[app.answer]);
        return;
      }
      if (typeof forwardId === "string") {
        const deliveries = app.afterSends.get(forwardId) ?? [];
        deliveries.push({ hash: sha256(body), signed, messageId: "x-im-edit-message-id" in req.headers });
        app.afterSends.set(forwardId, deliveries);
        app.onAfterSend?.();
      }
      res.writeHead(200, { "content-type": "application/json" }).end(ANSWERS.allow);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const app: App = {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answer: "allow",
    requests: 0,
    signed: 0,
    relayedBeforeSends: new Set(),
    afterSends: new Map(),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return app;
}

/** Whether each before-send got what it should: the app's decision, relayed as Tencent would get it. */
export class Checks {
  relayedSent = 0;
  relayedAsDecided = 0;
  readonly problems: string[] = [];
  private readonly wrong = new Map<string, number>();
  private readonly relayedHashes: string[] = [];

  answer(way: Way, expected: AnswerKind, status: number, text: string): void {
    const what = describeAnswer(status, text);
    if (way === "relayed") this.relayedSent++;
    const right = what === expected;
    if (right && way === "relayed") this.relayedAsDecided++;
    if (!right) {
      const key = `${way} ${expected}: ${what}`;
      this.wrong.set(key, (this.wrong.get(key) ?? 0) + 1);
      if (this.problems.length < 3) this.problems.push(`${key} (HTTP ${status}) ${text.slice(0, 120)}`);
    }
  }

  relayedBody(hash: string): void {
    this.relayedHashes.push(hash);
  }

  relayedBodiesIdentical(app: App): number {
    return this.relayedHashes.filter((hash) => app.relayedBeforeSends.has(hash)).length;
  }

  describeWrong(): string {
    if (this.wrong.size === 0) return "";
    return ` (${[...this.wrong].map(([key, n]) => `${key} ×${n}`).join(", ")})`;
  }
}

/** `allow`, `rewrite` (the app's MsgBody), or what else the answer was (`ErrorCode 1`: the fallback). */
function describeAnswer(status: number, text: string): string {
  if (status !== 200) return `HTTP ${status}`;
  try {
    const body = JSON.parse(text) as {
      ErrorCode?: unknown;
      MsgBody?: Array<{ MsgContent?: { Text?: unknown } }>;
    };
    if (body.ErrorCode !== 0) return `ErrorCode ${String(body.ErrorCode)}`;
    if (body.MsgBody === undefined) return "allow";
    return body.MsgBody[0]?.MsgContent?.Text === REWRITTEN_TEXT ? "rewrite" : "another MsgBody";
  } catch {
    return "not JSON";
  }
}
