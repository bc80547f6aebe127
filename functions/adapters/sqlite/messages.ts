import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { MessageHead, Version } from "../../core/model.ts";
import {
  InvalidPageTokenError,
  type KeyQuery,
  type ListQuery,
  type MessageStore,
  type Page,
  type PageRequest,
} from "../../core/store.ts";
import {
  decodeToken,
  encodeToken,
  fingerprint,
  HEAD_COLUMNS,
  HEAD_WRITE_COLUMNS,
  type HeadRow,
  headFrom,
  headParams,
  LIVE,
  pageSize,
} from "./rows.ts";

/** Retention and clock, shared by every part of the store. */
export interface StoreClock {
  /** Epoch ms of a row's retention expiry (from its own time), or null without retention. */
  expiry(from: string): number | null;
  nowMs(): number;
}

/** Above every ASCII sort key (the highest code point, 4 UTF-8 bytes): "no cursor yet". */
const TOP = "\u{10ffff}";

/** Both kinds of version rows (version 1 from its head, n ≥ 2 from `versions`), live, for one message. */
const ALL_VERSIONS = `
  SELECT 1 AS version, first AS data FROM heads WHERE id = :id AND first IS NOT NULL AND ${LIVE}
  UNION ALL
  SELECT version, data FROM versions WHERE id = :id AND ${LIVE}`;

type ListMode = "conversation" | "conversation-sender" | "sender" | "app";

const LIST_WHERE: Record<ListMode, string> = {
  conversation: "conversation = :conversation",
  "conversation-sender": "conversation = :conversation AND sender = :sender AND sender IS NOT NULL",
  sender: "sender = :sender AND sender IS NOT NULL",
  app: "1 = 1",
};

/** Messages and their versions on SQLite: every method one statement (a create over an expired head: two). */
export class SqliteMessages implements MessageStore {
  private readonly insertHead: StatementSync;
  private readonly replaceExpiredHead: StatementSync;
  private readonly updateHead: StatementSync;
  private readonly selectHead: StatementSync;
  private readonly insertVersion: StatementSync;
  private readonly selectRecent: StatementSync;
  private readonly selectVersionsAfter: StatementSync;
  private readonly selectFirst: StatementSync;
  private readonly selectVersion: StatementSync;
  private readonly updateFirst: StatementSync;
  private readonly updateVersion: StatementSync;
  private readonly selectByKey: StatementSync;
  private readonly selectList: Record<ListMode, StatementSync>;

  constructor(
    db: DatabaseSync,
    private readonly clock: StoreClock,
  ) {
    const columns = HEAD_WRITE_COLUMNS.join(", ");
    const values = HEAD_WRITE_COLUMNS.map((name) => `:${name}`).join(", ");
    const assignments = HEAD_WRITE_COLUMNS.filter((name) => name !== "id")
      .map((name) => `${name} = :${name}`)
      .join(", ");
    this.insertHead = db.prepare(
      `INSERT INTO heads (${columns}) VALUES (${values}) ON CONFLICT (id) DO NOTHING`,
    );
    // An expired head (retention) is absent: a create takes its place.
    this.replaceExpiredHead = db.prepare(
      `UPDATE heads SET ${assignments} WHERE id = :id AND expires_at IS NOT NULL AND expires_at <= :now`,
    );
    this.updateHead = db.prepare(`UPDATE heads SET ${assignments} WHERE id = :id AND rev = :expected`);
    this.selectHead = db.prepare(`SELECT ${HEAD_COLUMNS} FROM heads WHERE id = :id AND ${LIVE}`);
    this.insertVersion = db.prepare(
      "INSERT INTO versions (id, version, data, expires_at) VALUES (:id, :version, :data, :expires_at) ON CONFLICT DO NOTHING",
    );
    this.selectRecent = db.prepare(`SELECT data FROM (${ALL_VERSIONS}) ORDER BY version DESC LIMIT :limit`);
    this.selectVersionsAfter = db.prepare(
      `SELECT version, data FROM (${ALL_VERSIONS}) WHERE version > :after ORDER BY version LIMIT :limit`,
    );
    this.selectFirst = db.prepare(`SELECT first AS data FROM heads WHERE id = :id AND ${LIVE}`);
    this.selectVersion = db.prepare(
      `SELECT data FROM versions WHERE id = :id AND version = :version AND ${LIVE}`,
    );
    this.updateFirst = db.prepare(
      "UPDATE heads SET first = :data, rev = rev + 1 WHERE id = :id AND first IS NOT NULL",
    );
    this.updateVersion = db.prepare(
      "UPDATE versions SET data = :data, expires_at = :expires_at WHERE id = :id AND version = :version",
    );
    this.selectByKey = db.prepare(
      `SELECT ${HEAD_COLUMNS} FROM heads
       WHERE provider = :provider AND app_id = :app_id AND lookup_key = :lookup_key AND listed = 1
         AND lookup_key IS NOT NULL AND ${LIVE}`,
    );
    const list = (mode: ListMode) =>
      db.prepare(
        `SELECT ${HEAD_COLUMNS}, sort_key FROM heads
         WHERE provider = :provider AND app_id = :app_id AND ${LIST_WHERE[mode]} AND listed = 1
           AND sort_key >= :lo AND sort_key <= :hi AND sort_key < :cursor AND ${LIVE}
         ORDER BY sort_key DESC LIMIT :limit`,
      );
    this.selectList = {
      conversation: list("conversation"),
      "conversation-sender": list("conversation-sender"),
      sender: list("sender"),
      app: list("app"),
    };
  }

  async getHead(id: string): Promise<MessageHead | undefined> {
    const row = this.selectHead.get({ id, now: this.clock.nowMs() }) as HeadRow | undefined;
    return row ? headFrom(row) : undefined;
  }

  async createHead(head: MessageHead): Promise<MessageHead | undefined> {
    if (this.create(head)) return undefined;
    const existing = await this.getHead(head.id);
    // Gone between the two statements (purged as expired): the create wins on a second try.
    if (existing === undefined) return this.create(head) ? undefined : this.getHead(head.id);
    return existing;
  }

  async putHead(head: MessageHead, expectedRev: number | undefined): Promise<boolean> {
    if (expectedRev === undefined) return this.create(head);
    const params = headParams(head, this.clock.expiry(head.createdAt));
    return this.updateHead.run({ ...params, expected: expectedRev }).changes === 1;
  }

  async putVersion(id: string, version: Version): Promise<boolean> {
    if (!Number.isSafeInteger(version.version) || version.version < 2) {
      throw new RangeError(
        `putVersion writes versions 2 and later; version ${version.version} goes in the head`,
      );
    }
    const result = this.insertVersion.run({
      id,
      version: version.version,
      data: JSON.stringify(version),
      expires_at: this.clock.expiry(version.at),
    });
    return result.changes === 1;
  }

  async recentVersions(id: string, limit: number): Promise<Version[]> {
    const rows = this.selectRecent.all({ id, limit: pageSize(limit), now: this.clock.nowMs() }) as {
      data: string;
    }[];
    return rows.map((row) => JSON.parse(row.data) as Version);
  }

  async listVersions(id: string, page: PageRequest): Promise<Page<Version>> {
    const query = fingerprint(["versions", id]);
    const after = page.nextToken === undefined ? 0 : decodeToken(page.nextToken, query);
    if (typeof after !== "number") throw new InvalidPageTokenError();
    const limit = pageSize(page.limit);
    const rows = this.selectVersionsAfter.all({ id, after, limit: limit + 1, now: this.clock.nowMs() }) as {
      version: number;
      data: string;
    }[];
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return {
      items: items.map((row) => JSON.parse(row.data) as Version),
      ...(rows.length > limit && last ? { nextToken: encodeToken(query, last.version) } : {}),
    };
  }

  async getVersion(id: string, version: number): Promise<Version | undefined> {
    const now = this.clock.nowMs();
    const row = (
      version === 1 ? this.selectFirst.get({ id, now }) : this.selectVersion.get({ id, version, now })
    ) as { data: string | null } | undefined;
    return row?.data ? (JSON.parse(row.data) as Version) : undefined;
  }

  async replaceVersion(id: string, version: Version): Promise<boolean> {
    const data = JSON.stringify(version);
    if (version.version === 1) return this.updateFirst.run({ id, data }).changes === 1;
    const result = this.updateVersion.run({
      id,
      version: version.version,
      data,
      expires_at: this.clock.expiry(version.at),
    });
    return result.changes === 1;
  }

  async findByKey(query: KeyQuery): Promise<MessageHead[]> {
    const rows = this.selectByKey.all({
      provider: query.provider,
      app_id: query.appId,
      lookup_key: query.lookupKey,
      now: this.clock.nowMs(),
    }) as unknown as HeadRow[];
    // The hints narrow (an index on the key alone answers exactly, so they never widen or cut a read).
    const [from, to] = query.sentBetween ?? [];
    return rows
      .map(headFrom)
      .filter(
        (head) =>
          (query.sender === undefined || head.sender === query.sender) &&
          (from === undefined || head.createdAt >= from) &&
          (to === undefined || head.createdAt <= to),
      );
  }

  async list(query: ListQuery): Promise<Page<MessageHead>> {
    const mode: ListMode =
      query.conversation !== undefined
        ? query.sender !== undefined
          ? "conversation-sender"
          : "conversation"
        : query.sender !== undefined
          ? "sender"
          : "app";
    const scope = fingerprint([mode, query.provider, query.appId, query.conversation, query.sender]);
    // Inclusive bounds on createdAt, as sort-key bounds (keys are `<createdAt>#<id>`).
    const lo = query.since ?? "";
    const hi = `${query.until ?? TOP}#${TOP}`;
    let cursor = TOP;
    if (query.nextToken !== undefined) {
      const position = decodeToken(query.nextToken, scope);
      if (typeof position !== "string" || position < lo || position > hi) throw new InvalidPageTokenError();
      cursor = position;
    }
    if (lo > hi) return { items: [] };
    const limit = pageSize(query.limit);
    const rows = this.selectList[mode].all({
      provider: query.provider,
      app_id: query.appId,
      ...(mode === "conversation" || mode === "conversation-sender"
        ? { conversation: query.conversation }
        : {}),
      ...(mode === "sender" || mode === "conversation-sender" ? { sender: query.sender } : {}),
      lo,
      hi,
      cursor,
      limit: limit + 1,
      now: this.clock.nowMs(),
    } as Record<string, string | number>) as unknown as (HeadRow & { sort_key: string })[];
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return {
      items: items.map(headFrom),
      ...(rows.length > limit && last ? { nextToken: encodeToken(scope, last.sort_key) } : {}),
    };
  }

  /** Inserts the head unless a live one exists (an expired one is replaced). True when written. */
  private create(head: MessageHead): boolean {
    const params = headParams(head, this.clock.expiry(head.createdAt));
    if (this.insertHead.run(params).changes === 1) return true;
    return this.replaceExpiredHead.run({ ...params, now: this.clock.nowMs() }).changes === 1;
  }
}
