import { Agent, request } from "undici";

/**
 * How long the receiver gets to answer: 2 s, Tencent's documented callback timeout (tencent-chat-notes
 * §1.2); Yunxin's 抄送 timeout is UNCONFIRMED (2 s like its callbacks, netease-yunxin-notes §3.3).
 */
const TIMEOUT_MS = 2_000;

/** One signed POST of a notification, as the provider builds it. */
export interface SignedPost {
  readonly url: string | URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Buffer;
}

/** The provider's part of delivering a notification `N` (a message copy, a callback). */
export interface Signing<N> {
  /** The signed POST of `notification` to the configured `url`; a throw counts as a failed delivery. */
  post(url: string, notification: N): SignedPost;
  /** Whether an HTTP 200 answer with this body counts as delivered. */
  accepts(answer: string): boolean;
  delivered(notification: N): void;
  failed(notification: N): void;
}

/**
 * Posts notifications to one configured URL as the providers do: a persistent connection, one attempt,
 * 2 s to answer. Never throws: a network error, a timeout, a non-200 status or an answer the provider
 * does not accept counts as a failure (`Signing.failed`); the answer body is always read.
 */
export class Sender<N> {
  readonly #signing: Signing<N>;
  readonly #agent = new Agent({ keepAliveTimeout: 10_000, connections: 8 });
  readonly #inFlight = new Set<Promise<void>>();
  #url: string | undefined;

  constructor(signing: Signing<N>, url: string | undefined) {
    this.#signing = signing;
    this.#url = url;
  }

  /** Throws (TypeError) on a URL that does not parse. */
  setUrl(url: string | undefined): void {
    if (url !== undefined) new URL(url);
    this.#url = url;
  }

  /** Resolves once the receiver answered or the delivery failed; no-op without a URL. */
  send(notification: N): Promise<void> {
    const url = this.#url;
    if (url === undefined) return Promise.resolve();
    const delivery = this.#deliver(url, notification);
    this.#inFlight.add(delivery);
    void delivery.finally(() => this.#inFlight.delete(delivery));
    return delivery;
  }

  /** Resolves when every delivery started so far has settled (also those started meanwhile). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  async close(): Promise<void> {
    await this.idle();
    await this.#agent.close();
  }

  async #deliver(url: string, notification: N): Promise<void> {
    try {
      const post = this.#signing.post(url, notification);
      const response = await request(post.url, {
        method: "POST",
        dispatcher: this.#agent,
        headers: post.headers,
        body: post.body,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      const text = await response.body.text();
      if (response.statusCode !== 200 || !this.#signing.accepts(text)) {
        throw new Error(`answered ${response.statusCode}`);
      }
      this.#signing.delivered(notification);
    } catch {
      this.#signing.failed(notification);
    }
  }
}
