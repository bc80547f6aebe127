import { randomBytes } from "node:crypto";
import type { Content } from "../../../functions/core/model.ts";
import type { RunningSimulator } from "../../../local/simulators/registry.ts";
import { type FakeCallback, fakeSignature, SIGNATURE_HEADER } from "./callback.ts";

export interface RemoteMessage {
  readonly from: string;
  readonly to: string;
  text: string;
  data?: string;
}

/**
 * The fake provider's "server", in memory: it keeps messages, sends their callbacks to im-edit over real
 * HTTP (signed), applies modifies and echoes each one back as a `message.edited` callback, as providers
 * whose edits come back through their callbacks do.
 */
export class FakeRemote implements RunningSimulator {
  readonly url = "memory://fake-remote";
  readonly messages = new Map<string, RemoteMessage>();
  readonly modifies: { id: string; send: Content; by: string }[] = [];
  readonly echoes: Promise<number>[] = [];
  secret = randomBytes(16).toString("hex");
  callbackUrl: string | undefined;
  #next = 1;
  #clock = Date.now();

  constructor(readonly appId: string) {}

  /** A user sends a message: stored here, and its `message.sent` callback delivered. Returns the status. */
  async send(from: string, to: string, text: string, data?: string): Promise<{ id: string; status: number }> {
    const id = `m-${this.#next++}`;
    this.messages.set(id, { from, to, text, ...(data !== undefined ? { data } : {}) });
    const status = await this.deliver({ type: "message.sent", id });
    return { id, status };
  }

  /** The modify call: applies the fields sent, then echoes the whole message back (after answering). */
  modify(id: string, send: Content, by: string): { requestId: string } | undefined {
    const message = this.messages.get(id);
    if (!message) return undefined;
    if (typeof send.text === "string") message.text = send.text;
    if (typeof send.data === "string") {
      if (send.data === "") delete message.data;
      else message.data = send.data;
    }
    this.modifies.push({ id, send, by });
    const echo = new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
      this.deliver({ type: "message.edited", id, by }),
    );
    this.echoes.push(echo);
    return { requestId: `req-${this.modifies.length}` };
  }

  /** Every echo delivered; their statuses. */
  settled(): Promise<number[]> {
    return Promise.all(this.echoes);
  }

  async deliver(event: { type: FakeCallback["type"]; id: string; by?: string }, secret = this.secret) {
    const message = this.messages.get(event.id);
    if (!message || this.callbackUrl === undefined) throw new Error("nothing to deliver, or nowhere");
    this.#clock += 1000;
    const body: FakeCallback = {
      app: this.appId,
      type: event.type,
      id: event.id,
      from: message.from,
      to: message.to,
      text: message.text,
      ...(message.data !== undefined ? { data: message.data } : {}),
      at: this.#clock,
      ...(event.by !== undefined ? { by: event.by } : {}),
    };
    return this.post(JSON.stringify(body), secret);
  }

  /** Posts raw bytes signed with `secret`: for tests of the signature check. */
  async post(raw: string, secret = this.secret): Promise<number> {
    if (this.callbackUrl === undefined) throw new Error("no callback URL");
    const response = await fetch(this.callbackUrl, {
      method: "POST",
      headers: { "content-type": "application/json", [SIGNATURE_HEADER]: fakeSignature(secret, raw) },
      body: raw,
    });
    await response.arrayBuffer();
    return response.status;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.echoes);
  }
}
