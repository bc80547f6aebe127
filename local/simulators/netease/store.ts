import { type JsonObject, parseExact } from "./json.ts";

/** Conversation types of the v2 API: 1 P2P, 2 advanced team, 3 super team (notes §2.1). */
export type ConversationType = 1 | 2 | 3;
export type TeamKind = "team" | "superteam";

/**
 * A message as the simulator holds it: Yunxin's v2 field names for Yunxin's fields, camelCase for the
 * simulator's bookkeeping. Ids are strings of exact digits; `attachment` is a plain (lossy) view of
 * `attachmentJson`, which keeps integers above 2^53 exactly.
 */
export interface StoredMessage {
  readonly message_server_id: string;
  readonly message_client_id: string;
  readonly conversation_type: ConversationType;
  readonly sender_id: string;
  /** Receiver accid (P2P) or team id. */
  readonly receiver_id: string;
  /** Milliseconds, server clock. */
  readonly create_time: number;
  readonly message_type: number;
  readonly sub_type?: number;
  readonly text?: string;
  readonly attachment?: JsonObject;
  readonly attachmentJson?: string;
  readonly extension?: string;
  readonly modify_account_id?: string;
  readonly modify_time?: number;
  readonly recalled: boolean;
  readonly recalledAtMs?: number;
  /** How many modifyMsg calls were applied. */
  readonly modifications: number;
}

export interface Team {
  readonly tid: string;
  readonly kind: TeamKind;
  readonly owner: string;
  /** Owner first, then the members given to createTeam; only used for the copies' `tMembers`. */
  readonly members: readonly string[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
export type MessageRecord = Omit<Mutable<StoredMessage>, "attachment">;

/** Server ids start above 2^53 (like the 18-digit ids in Yunxin's examples, notes §5) and count up. */
const FIRST_SERVER_ID = 158_844_553_334_358_020n;

export class MessageStore {
  readonly #messages = new Map<string, MessageRecord>();
  readonly #teams = new Map<string, Team>();
  #nextId = FIRST_SERVER_ID;

  nextServerId(): string {
    const id = this.#nextId.toString();
    this.#nextId += 1n;
    return id;
  }

  add(record: MessageRecord): void {
    this.#messages.set(record.message_server_id, record);
  }

  get(messageServerId: string): MessageRecord | undefined {
    return this.#messages.get(messageServerId);
  }

  /** Every message, in send order. */
  all(): MessageRecord[] {
    return [...this.#messages.values()];
  }

  /** Whether `digits` reads as the same IEEE double as a stored id (a client rounded it). */
  isRoundingOfKnownId(digits: string): boolean {
    const value = Number(digits);
    for (const id of this.#messages.keys()) if (Number(id) === value) return true;
    return false;
  }

  addTeam(team: Team): void {
    this.#teams.set(team.tid, team);
  }

  team(tid: string): Team | undefined {
    return this.#teams.get(tid);
  }
}

/** A copy for callers: fresh objects, the attachment parsed for convenience. */
export function snapshot(record: MessageRecord): StoredMessage {
  const attachmentJson = record.attachmentJson;
  const copy: Mutable<StoredMessage> = { ...record };
  if (attachmentJson !== undefined) copy.attachment = JSON.parse(attachmentJson) as JsonObject;
  return copy;
}

/** The stored attachment as a value for a JSON answer, integers above 2^53 intact. */
export function attachmentValue(record: MessageRecord): JsonObject | undefined {
  return record.attachmentJson === undefined ? undefined : (parseExact(record.attachmentJson) as JsonObject);
}
