import { createHash } from "node:crypto";
import { Agent, request } from "undici";
import type { MessageRecord, Team } from "./store.ts";

/**
 * 消息抄送 (message copies, notes §3.2): the body format, the signature, and the delivery.
 * Written here rather than imported from functions/ so that a bug there cannot hide.
 */

/** A copy body: every value a string, as Yunxin sends them. */
export type CopyBody = Readonly<Record<string, string>>;

export function md5Hex(body: string | Uint8Array): string {
  return createHash("md5").update(body).digest("hex");
}

/** `CheckSum` of a copy: lower-case hex SHA1 of AppSecret + MD5 + CurTime (CurTime in milliseconds). */
export function copyCheckSum(appSecret: string, md5: string, curTime: string): string {
  return createHash("sha1")
    .update(appSecret + md5 + curTime, "utf8")
    .digest("hex");
}

const CONV_TYPES = { 1: "PERSON", 2: "TEAM", 3: "SUPER_TEAM" } as const;

/** v2 message_type → the copy's msgType (notes §3.2, §4). */
export const MSG_TYPES: Readonly<Record<number, string>> = {
  0: "TEXT",
  1: "PICTURE",
  2: "AUDIO",
  3: "VIDEO",
  4: "LOCATION",
  6: "FILE",
  10: "TIPS",
  100: "CUSTOM",
};

/**
 * The eventType "1" copy of a message in its current state (after an edit: the new body/attach/ext, the
 * original ids and msgTimestamp; Yunxin documents no field marking an update, so there is none). Keys in
 * alphabetical order like the documented examples; `attach`, `ext` and `tMembers` only when there is one.
 */
export function messageCopy(record: MessageRecord, team: Team | undefined): CopyBody {
  const body: Record<string, string> = {};
  if (record.attachmentJson !== undefined) body.attach = record.attachmentJson;
  body.body = record.text ?? "";
  body.convType = CONV_TYPES[record.conversation_type];
  body.eventType = "1";
  if (record.extension !== undefined) body.ext = record.extension;
  body.fromAccount = record.sender_id;
  body.fromClientType = "REST";
  body.msgTimestamp = String(record.create_time);
  body.msgType = MSG_TYPES[record.message_type] ?? "CUSTOM";
  body.msgidClient = record.message_client_id;
  body.msgidServer = record.message_server_id;
  body.resendFlag = "0";
  // tMembers: TEAM only, teams of at most 200 members (§3.2), formatted like the doc's "[zhangsan, lisi]".
  if (record.conversation_type === 2 && team !== undefined && team.members.length <= 200) {
    body.tMembers = `[${team.members.join(", ")}]`;
  }
  body.to = record.receiver_id;
  return body;
}

/**
 * The eventType "7" (P2P) / "8" (team, super team) recall copy. Yunxin's format is UNCONFIRMED (notes
 * §3.2); this is the "recall API parameters" reading (test/fixtures/netease/synthetic-recall-p2p.json):
 * deleteMsgid and timetag of the recalled message, from = who recalled, to = receiver accid or tid.
 */
export function recallCopy(record: MessageRecord, recalledBy: string, msg: string | undefined): CopyBody {
  const body: Record<string, string> = {
    deleteMsgid: record.message_server_id,
    eventType: record.conversation_type === 1 ? "7" : "8",
    from: recalledBy,
  };
  if (msg !== undefined) body.msg = msg;
  body.timetag = String(record.create_time);
  body.to = record.receiver_id;
  return body;
}

export interface CopySenderOptions {
  readonly appKey: string;
  readonly appSecret: string;
  readonly now: () => number;
  readonly delivered: () => void;
  readonly failed: () => void;
}

/** How long the receiver gets to answer; Yunxin's 抄送 timeout is UNCONFIRMED (2 s like its callbacks, §3.3). */
const COPY_TIMEOUT_MS = 2_000;

/**
 * Posts copies as Yunxin does: one configured URL, JSON body, headers AppKey / CurTime (ms) / MD5 /
 * CheckSum. One attempt (Yunxin's retry policy is UNCONFIRMED). Never throws: a network error, a timeout
 * or a non-200 HTTP status counts as a failure; the answer body is read and otherwise ignored.
 */
export class CopySender {
  readonly #options: CopySenderOptions;
  readonly #agent = new Agent({ keepAliveTimeout: 10_000, connections: 8 });
  readonly #inFlight = new Set<Promise<void>>();
  #url: string | undefined;

  constructor(options: CopySenderOptions, url: string | undefined) {
    this.#options = options;
    this.#url = url;
  }

  setUrl(url: string | undefined): void {
    this.#url = url;
  }

  /** Resolves once the receiver answered or the delivery failed; no-op without a copy URL. */
  send(body: CopyBody): Promise<void> {
    const url = this.#url;
    if (url === undefined) return Promise.resolve();
    const delivery = this.#deliver(url, body);
    this.#inFlight.add(delivery);
    void delivery.finally(() => this.#inFlight.delete(delivery));
    return delivery;
  }

  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  async close(): Promise<void> {
    await this.idle();
    await this.#agent.close();
  }

  async #deliver(url: string, body: CopyBody): Promise<void> {
    const { appKey, appSecret, now } = this.#options;
    try {
      const bytes = Buffer.from(JSON.stringify(body), "utf8");
      const md5 = md5Hex(bytes);
      const curTime = String(now());
      const response = await request(url, {
        method: "POST",
        dispatcher: this.#agent,
        headers: {
          "content-type": "application/json",
          AppKey: appKey,
          CurTime: curTime,
          MD5: md5,
          CheckSum: copyCheckSum(appSecret, md5, curTime),
        },
        body: bytes,
        signal: AbortSignal.timeout(COPY_TIMEOUT_MS),
      });
      await response.body.text();
      if (response.statusCode !== 200) throw new Error(`answered ${response.statusCode}`);
      this.#options.delivered();
    } catch {
      this.#options.failed();
    }
  }
}
