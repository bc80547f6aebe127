import { createHash } from "node:crypto";
import type { MsgElement } from "./elements.ts";

/** Tencent's group types (REST names; "Work"/"Meeting" are the newer names of Private/ChatRoom). */
export const GROUP_TYPES = ["Private", "Public", "ChatRoom", "AVChatRoom", "Community"] as const;
export type GroupType = (typeof GROUP_TYPES)[number];

/**
 * A message as the simulator holds it: Tencent's own field names for Tencent's fields, camelCase for
 * the simulator's bookkeeping (recall flag, times in ms, modification count).
 */
interface StoredBase {
  readonly From_Account: string;
  readonly MsgSeq: number;
  readonly MsgRandom: number;
  /** Seconds, server clock. */
  readonly MsgTime: number;
  readonly MsgId: string;
  readonly MsgBody: readonly MsgElement[];
  readonly CloudCustomData?: string;
  readonly recalled: boolean;
  readonly sentAtMs: number;
  readonly modifiedAtMs?: number;
  readonly recalledAtMs?: number;
  /** How many modify calls were applied. */
  readonly modifications: number;
}

export interface StoredC2CMessage extends StoredBase {
  readonly kind: "c2c";
  readonly To_Account: string;
  readonly MsgKey: string;
}

export interface StoredGroupMessage extends StoredBase {
  readonly kind: "group";
  readonly GroupId: string;
  /** The group's type, as group callbacks report it. */
  readonly Type: GroupType;
  readonly TopicId?: string;
}

/** What the simulator holds for a message; the simulator's accessors hand out copies. */
export type StoredMessage = StoredC2CMessage | StoredGroupMessage;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
/** A stored message of either kind, as the handlers change it. */
export type MessageRecord = Mutable<StoredBase>;
type C2CRecord = Mutable<StoredC2CMessage> & { readonly order: number };
type GroupRecord = Mutable<StoredGroupMessage>;

export interface Group {
  readonly id: string;
  readonly type: GroupType;
  readonly name: string;
  /** Per topic ("" = none): the next MsgSeq and the messages. Each topic has its own seq space (§3). */
  readonly topics: Map<string, { nextSeq: number; readonly messages: Map<number, GroupRecord> }>;
}

export interface NewC2C {
  readonly from: string;
  readonly to: string;
  readonly msgSeq: number;
  readonly msgRandom: number;
  readonly msgTime: number;
  readonly msgBody: readonly MsgElement[];
  readonly cloudCustomData: string | undefined;
  readonly nowMs: number;
}

export interface NewGroupMessage {
  readonly from: string;
  readonly random: number;
  readonly msgTime: number;
  readonly topicId: string | undefined;
  readonly msgBody: readonly MsgElement[];
  readonly cloudCustomData: string | undefined;
  readonly nowMs: number;
}

export interface Change {
  readonly msgBody: readonly MsgElement[] | undefined;
  readonly cloudCustomData: string | undefined;
  readonly nowMs: number;
}

/**
 * Tencent's C2C de-duplication (§3: sender + MsgSeq + MsgRandom + CRC32(content), for 120 s). The
 * recipient is part of the key here too, so a sender reusing MsgRandom never gets another recipient's key.
 */
const DEDUP_MS = 120_000;

/** In-memory messages and groups. Plain data; every Tencent rule lives in the API handlers. */
export class MessageStore {
  readonly #c2c = new Map<string, C2CRecord>();
  readonly #pairs = new Map<string, C2CRecord[]>();
  readonly #recent = new Map<string, C2CRecord>();
  readonly #groups = new Map<string, Group>();
  readonly #received = new Map<string, number>();
  #order = 0;

  group(groupId: string): Group | undefined {
    return this.#groups.get(groupId);
  }

  addGroup(id: string, type: GroupType, name: string): Group {
    const group: Group = { id, type, name, topics: new Map() };
    this.#groups.set(id, group);
    return group;
  }

  c2c(from: string, to: string, msgKey: string): C2CRecord | undefined {
    return this.#c2c.get(c2cKey(from, to, msgKey));
  }

  /** A send that repeats one made within 120 s (same sender, seq, random and content), if any. */
  duplicateOf(message: NewC2C): C2CRecord | undefined {
    const previous = this.#recent.get(dedupKey(message));
    return previous !== undefined && message.nowMs - previous.sentAtMs <= DEDUP_MS ? previous : undefined;
  }

  addC2C(message: NewC2C): C2CRecord {
    const record: C2CRecord = {
      kind: "c2c",
      From_Account: message.from,
      To_Account: message.to,
      MsgSeq: message.msgSeq,
      MsgRandom: message.msgRandom,
      MsgTime: message.msgTime,
      MsgKey: `${message.msgSeq}_${message.msgRandom}_${message.msgTime}`,
      MsgId: msgId(message.from, message.msgTime, message.msgRandom),
      MsgBody: message.msgBody,
      ...(message.cloudCustomData !== undefined ? { CloudCustomData: message.cloudCustomData } : {}),
      recalled: false,
      sentAtMs: message.nowMs,
      modifications: 0,
      order: this.#order++,
    };
    this.#c2c.set(c2cKey(message.from, message.to, record.MsgKey), record);
    const pair = pairKey(message.from, message.to);
    this.#pairs.set(pair, [...(this.#pairs.get(pair) ?? []), record]);
    this.#recent.set(dedupKey(message), record);
    this.#received.set(message.to, this.receivedBy(message.to) + 1);
    return record;
  }

  /** How many C2C messages a user received: the after-send callback's UnreadMsgNum (nobody reads here). */
  receivedBy(user: string): number {
    return this.#received.get(user) ?? 0;
  }

  /** Both directions of a C2C conversation, newest first (MsgTime, then MsgSeq within a second, §2.1). */
  conversation(a: string, b: string): readonly C2CRecord[] {
    return [...(this.#pairs.get(pairKey(a, b)) ?? [])].sort(
      (x, y) => y.MsgTime - x.MsgTime || y.MsgSeq - x.MsgSeq || y.order - x.order,
    );
  }

  addGroupMessage(group: Group, message: NewGroupMessage): GroupRecord {
    const topic = this.#topic(group, message.topicId);
    const record: GroupRecord = {
      kind: "group",
      GroupId: group.id,
      Type: group.type,
      ...(message.topicId !== undefined ? { TopicId: message.topicId } : {}),
      From_Account: message.from,
      MsgSeq: topic.nextSeq++,
      MsgRandom: message.random,
      MsgTime: message.msgTime,
      MsgId: msgId(message.from, message.msgTime, message.random),
      MsgBody: message.msgBody,
      ...(message.cloudCustomData !== undefined ? { CloudCustomData: message.cloudCustomData } : {}),
      recalled: false,
      sentAtMs: message.nowMs,
      modifications: 0,
    };
    topic.messages.set(record.MsgSeq, record);
    return record;
  }

  groupMessage(group: Group, topicId: string | undefined, msgSeq: number): GroupRecord | undefined {
    return group.topics.get(topicId ?? "")?.messages.get(msgSeq);
  }

  /** The newest seq of a group (topic); 0 when it has no message yet. */
  lastSeq(group: Group, topicId: string | undefined): number {
    return (group.topics.get(topicId ?? "")?.nextSeq ?? 1) - 1;
  }

  #topic(group: Group, topicId: string | undefined) {
    const key = topicId ?? "";
    let topic = group.topics.get(key);
    if (topic === undefined) {
      topic = { nextSeq: 1, messages: new Map() };
      group.topics.set(key, topic);
    }
    return topic;
  }
}

/** Overwrites only the fields the modify request carried (modify_c2c_msg / modify_group_msg). */
export function applyChange(record: MessageRecord, change: Change): void {
  if (change.msgBody !== undefined) record.MsgBody = change.msgBody;
  if (change.cloudCustomData !== undefined) record.CloudCustomData = change.cloudCustomData;
  record.modifiedAtMs = change.nowMs;
  record.modifications += 1;
}

export function markRecalled(record: MessageRecord, nowMs: number): void {
  record.recalled = true;
  record.recalledAtMs = nowMs;
}

/** A detached copy for callers outside the simulator, without internal bookkeeping. */
export function snapshot(record: C2CRecord): StoredC2CMessage;
export function snapshot(record: GroupRecord): StoredGroupMessage;
export function snapshot(record: C2CRecord | GroupRecord): StoredMessage {
  if (record.kind === "group") return structuredClone(record);
  const { order: _order, ...message } = record;
  return structuredClone(message);
}

const c2cKey = (from: string, to: string, msgKey: string) => JSON.stringify([from, to, msgKey]);
const pairKey = (a: string, b: string) => JSON.stringify(a <= b ? [a, b] : [b, a]);
const dedupKey = (m: NewC2C) =>
  JSON.stringify([
    m.from,
    m.to,
    m.msgSeq,
    m.msgRandom,
    createHash("sha1").update(JSON.stringify(m.msgBody)).digest("hex"),
  ]);

/** Shaped like Tencent's sample `144115233406643804-1727580296-4026038328` (tiny id, time, random). */
function msgId(from: string, msgTime: number, random: number): string {
  const tinyId =
    144_115_000_000_000_000n + (createHash("sha256").update(from).digest().readBigUInt64BE() % 10n ** 12n);
  return `${tinyId}-${msgTime}-${random}`;
}
