import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteStore } from "../../../functions/adapters/sqlite/store.ts";
import { BadRequestError } from "../../../functions/core/errors.ts";
import type { ReconcileSpec } from "../../../functions/core/jobs/model.ts";
import {
  type ReconcilePageResult,
  reconcilePage,
  validateReconcile,
} from "../../../functions/core/jobs/reconcile.ts";
import { SlidingWindowLimiter } from "../../../functions/core/limiter.ts";
import type { ProviderEditor } from "../../../functions/core/provider.ts";
import { Recorder } from "../../../functions/core/recorder.ts";
import { createNeteaseEditor } from "../../../functions/providers/netease/editor.ts";
import { NeteaseRestClient } from "../../../functions/providers/netease/rest.ts";
import { createTencentEditor } from "../../../functions/providers/tencent/editor.ts";
import { TencentRestClient } from "../../../functions/providers/tencent/rest.ts";
import { UserSigCache } from "../../../functions/providers/tencent/usersig.ts";
import { NeteaseSimulator } from "../../../local/simulators/netease/api.ts";
import { TencentSimulator } from "../../../local/simulators/tencent/api.ts";
import { APP_KEY, APP_SECRET, copyRequest, neteaseProvider } from "../../helpers/netease.ts";
import { APP_ID, callbackRequest, tencentProvider } from "../../helpers/tencent.ts";

const KEY = "reconcile-test-key";
const ADMIN = "administrator";
const DAY_MS = 24 * 60 * 60 * 1000;
const RECONCILED_AT = new Date("2030-01-01T00:00:00.000Z");
const text = (value: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: value } }];
const iso = (ms: number) => new Date(ms).toISOString();

const closing: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const item of closing.splice(0)) await item.close();
});

/** A callback receiver that records what it gets through the provider's interpret and the recorder. */
async function receiver(handle: (body: Buffer) => Promise<void>): Promise<string> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      handle(Buffer.concat(chunks)).then(
        () =>
          res
            .writeHead(200, { "content-type": "application/json" })
            .end('{"ActionStatus":"OK","ErrorCode":0,"code":200}'),
        () => res.writeHead(500).end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closing.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

function embeddedStore(): SqliteStore {
  const store = new SqliteStore({ path: ":memory:" });
  closing.push({ close: () => store.close() });
  return store;
}

const limiter = () => new SlidingWindowLimiter(() => ({ limit: 1000, windowMs: 1000 }));

/** Runs a reconcile to its end, page by page, as the job runner does; the per-page results. */
async function reconcileAll(store: SqliteStore, editor: ProviderEditor, spec: ReconcileSpec) {
  const pages: ReconcilePageResult[] = [];
  let cursor: string | undefined;
  do {
    const page = await reconcilePage(store, editor, spec, cursor, Date.now() + 10_000, () => RECONCILED_AT);
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor !== undefined && pages.length < 50);
  const sum = (field: "seen" | "created" | "existing") =>
    pages.reduce((total, page) => total + page[field], 0);
  return {
    pages: pages.length,
    seen: sum("seen"),
    created: sum("created"),
    existing: sum("existing"),
    recorded: pages.flatMap((page) => page.recorded),
  };
}

async function tencentSetup() {
  const store = embeddedStore();
  const provider = tencentProvider();
  const recorder = new Recorder(store);
  const url = await receiver(async (body) => {
    for (const event of provider.interpret(callbackRequest(JSON.parse(body.toString("utf8")))))
      await recorder.apply(event);
  });
  const clock = { ms: Math.floor(Date.now() / 1000) * 1000 - 600_000 };
  const sim = await TencentSimulator.start({
    sdkAppId: APP_ID,
    secretKey: KEY,
    adminIdentifier: ADMIN,
    callbackUrl: url,
    now: () => clock.ms,
  });
  closing.unshift(sim);
  const rest = new TencentRestClient({
    baseUrl: sim.url,
    sdkAppId: APP_ID,
    identifier: ADMIN,
    userSig: new UserSigCache(APP_ID, KEY, ADMIN),
    limiter: limiter(),
  });
  const editor = createTencentEditor({ sdkAppId: APP_ID, rest });
  const call = (service: string, command: string, body: unknown) =>
    rest.call(service, command, body, { deadline: Date.now() + 5_000, resendAfterSend: false });
  return { store, provider, sim, url, clock, editor, call };
}

describe("reconcile (Tencent, embedded store)", () => {
  it("records what no callback reported as version 1 source reconcile, leaves the rest as it is, and is idempotent", async () => {
    // Prepare: 120 C2C messages; every third one sent with ForbidCallbackControl (no callback), one recalled.
    const { store, provider, sim, url, clock, editor, call } = await tencentSetup();
    const since = clock.ms;
    const sent: { msgKey: string; from: string; to: string; quiet: boolean; body: string }[] = [];
    for (let i = 0; i < 120; i++) {
      if (i % 6 === 0) clock.ms += 1000;
      const quiet = i % 3 === 0;
      const [from, to] = i % 2 === 0 ? ["alice", "bob"] : ["bob", "alice"];
      const reply = await call("openim", "sendmsg", {
        From_Account: from,
        To_Account: to,
        MsgRandom: i,
        MsgSeq: i + 1,
        MsgBody: text(`message ${i}`),
        ...(quiet ? { ForbidCallbackControl: ["ForbidAfterSendMsgCallback"] } : {}),
      });
      sent.push({ msgKey: String(reply.MsgKey), from, to, quiet, body: `message ${i}` });
    }
    // sent[3] recalled without a callback (the receiver was down): only the history knows it. sent[6] recalled
    // with its callback: the recorder left a tombstone (version 0), which reconcile leaves as it is.
    const recall = (m: (typeof sent)[number] | undefined) =>
      call("openim", "admin_msgwithdraw", { From_Account: m?.from, To_Account: m?.to, MsgKey: m?.msgKey });
    const [recalled, tombstone] = [sent[3], sent[6]];
    sim.setCallbackUrl(undefined);
    await recall(recalled);
    sim.setCallbackUrl(url);
    await recall(tombstone);
    clock.ms += 1000;
    // The callback path's identity for each message: the provider's own lookup by its natural key.
    const idOf = (m: (typeof sent)[number]) =>
      provider.lookup(APP_ID, { msgKey: m.msgKey, from: m.from, to: m.to })?.id ?? "";
    const before = new Map(
      await Promise.all(
        sent
          .filter((m) => !m.quiet || m === tombstone)
          .map(async (m) => [idOf(m), await store.getHead(idOf(m))] as const),
      ),
    );
    const spec: ReconcileSpec = {
      provider: "tencent",
      appId: APP_ID,
      pair: ["alice", "bob"],
      since: iso(since),
      until: iso(clock.ms),
    };

    // Act
    const first = await reconcileAll(store, editor, spec);
    const second = await reconcileAll(store, editor, spec);

    // Assess
    expect(first).toMatchObject({ seen: 120, created: 39, existing: 81 });
    expect(first.pages).toBeGreaterThanOrEqual(2);
    expect(second).toMatchObject({ seen: 120, created: 0, existing: 120 });
    // What the runner announces (MessageRecorded, source reconcile): the records created, each once.
    expect(first.recorded).toHaveLength(39);
    expect(new Set(first.recorded.map((head) => head.id)).size).toBe(39);
    expect(first.recorded.every((head) => head.first?.source === "reconcile")).toBe(true);
    expect(second.recorded).toEqual([]);
    for (const m of sent) {
      const head = await store.getHead(idOf(m));
      if (!m.quiet || m === tombstone) {
        // Recorded by its callback: exactly as it was (same rev, same version 1, recall included).
        expect(head).toEqual(before.get(idOf(m)));
        if (m === tombstone) expect(head).toMatchObject({ state: "recalled", version: 0 });
        else expect(head?.first?.source).toBe("callback");
        continue;
      }
      expect(head).toMatchObject({
        provider: "tencent",
        kind: "c2c",
        state: m === recalled ? "recalled" : "sent",
        version: 1,
        rev: 1,
        lookupKey: `c2c|${m.msgKey}`,
        key: { from: m.from, to: m.to, msgKey: m.msgKey },
        conversation: "c2c:alice:bob",
        sender: m.from,
        updatedAt: RECONCILED_AT.toISOString(),
        first: {
          version: 1,
          source: "reconcile",
          actor: m.from,
          content: { MsgBody: text(m.body) },
        },
      });
      expect(head?.contentHash).toBe(head?.first?.contentHash);
      // Found by natural key like any called-back record.
      expect(
        (await store.findByKey({ provider: "tencent", appId: APP_ID, lookupKey: `c2c|${m.msgKey}` })).map(
          (h) => h.id,
        ),
      ).toEqual([idOf(m)]);
    }
    expect((await store.getHead(idOf(sent[0] as (typeof sent)[number])))?.state).toBe("sent");
  });

  it("a callback arriving after reconcile recorded its message is a duplicate (same content)", async () => {
    // Prepare
    const { store, provider, clock, editor, call } = await tencentSetup();
    const since = clock.ms;
    clock.ms += 1000;
    const reply = await call("openim", "sendmsg", {
      From_Account: "alice",
      To_Account: "bob",
      MsgRandom: 5,
      MsgSeq: 9,
      MsgBody: text("late"),
      ForbidCallbackControl: ["ForbidAfterSendMsgCallback"],
    });
    clock.ms += 1000;
    await reconcileAll(store, editor, {
      provider: "tencent",
      appId: APP_ID,
      pair: ["alice", "bob"],
      since: iso(since),
      until: iso(clock.ms),
    });
    const id = provider.lookup(APP_ID, { msgKey: String(reply.MsgKey), from: "alice", to: "bob" })?.id ?? "";
    const before = await store.getHead(id);

    // Act: the after-send callback Tencent would have sent for it.
    const [event] = provider.interpret(
      callbackRequest({
        CallbackCommand: "C2C.CallbackAfterSendMsg",
        From_Account: "alice",
        To_Account: "bob",
        MsgSeq: 9,
        MsgRandom: 5,
        MsgTime: reply.MsgTime,
        MsgKey: reply.MsgKey,
        MsgBody: text("late"),
        SendMsgResult: 0,
      }),
    );
    const outcome = event ? await new Recorder(store).apply(event) : undefined;

    // Assess
    expect(event?.type === "sent" ? event.message.id : undefined).toBe(id);
    expect(outcome).toBe("duplicate");
    expect(await store.getHead(id)).toEqual(before);
  });

  it("reconciles a group backwards by seq, only inside [since, until)", async () => {
    // Prepare
    const { store, sim, clock, editor, call } = await tencentSetup();
    sim.createGroup("g1", "Public");
    const send = (i: number, quiet: boolean) =>
      call("group_open_http_svc", "send_group_msg", {
        GroupId: "g1",
        From_Account: "carol",
        Random: i,
        MsgBody: text(`g${i}`),
        ...(quiet ? { ForbidCallbackControl: ["ForbidAfterSendMsgCallback"] } : {}),
      });
    clock.ms += 1000;
    await send(0, true);
    clock.ms += 1000;
    const since = clock.ms;
    for (let i = 1; i <= 30; i++) await send(i, i % 2 === 0);
    clock.ms += 1000;
    const until = clock.ms;
    await send(31, true);

    // Act
    const result = await reconcileAll(store, editor, {
      provider: "tencent",
      appId: APP_ID,
      groupId: "g1",
      since: iso(since),
      until: iso(until),
    });

    // Assess: seqs 2..31 seen (seq 1 before since, seq 32 after until), the 15 quiet ones created.
    expect(result).toMatchObject({ seen: 30, created: 15, existing: 15 });
    const listed = await store.list({
      provider: "tencent",
      appId: APP_ID,
      conversation: "group:g1",
      limit: 100,
    });
    expect(listed.items.map((head) => Number(head.key.msgSeq)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 30 }, (_, i) => i + 2),
    );
    expect(listed.items.filter((head) => head.first?.source === "reconcile")).toHaveLength(15);
  });
});

describe("reconcile (Yunxin, embedded store)", () => {
  it("records messages sent without a copy, with the copy path's ids", async () => {
    // Prepare
    const store = embeddedStore();
    const provider = neteaseProvider();
    const recorder = new Recorder(store);
    const url = await receiver(async (body) => {
      for (const event of provider.interpret(copyRequest(body))) await recorder.apply(event);
    });
    const clock = { ms: Date.now() - DAY_MS };
    const sim = await NeteaseSimulator.start({
      appKey: APP_KEY,
      appSecret: APP_SECRET,
      copyUrl: url,
      now: () => clock.ms,
    });
    closing.unshift(sim);
    const rest = new NeteaseRestClient({
      baseUrl: sim.url,
      appKey: APP_KEY,
      appSecret: APP_SECRET,
      limiter: limiter(),
      now: () => clock.ms,
    });
    const editor = createNeteaseEditor({ appKey: APP_KEY, rest, routeEnabled: true, maxAgeMs: 7 * DAY_MS });
    const since = clock.ms;
    const ids: { id: string; copied: boolean }[] = [];
    for (let i = 0; i < 150; i++) {
      clock.ms += 10;
      const copied = i % 5 !== 0;
      const reply = await rest.call(
        "POST",
        `/im/v2/conversations/${encodeURIComponent("alice|1|bob")}/messages`,
        JSON.stringify({
          message: { message_type: 0, text: `m${i}` },
          route_config: { route_enabled: copied },
        }),
        { operation: "send", deadline: Date.now() + 5_000, resendAfterSend: false, rateKeys: [] },
      );
      ids.push({ id: String(reply.data?.message_server_id), copied });
    }
    const spec: ReconcileSpec = {
      provider: "netease",
      appId: APP_KEY,
      pair: ["bob", "alice"],
      since: iso(since),
      until: iso(clock.ms + 1),
    };

    // Act
    const result = await reconcileAll(store, editor, spec);

    // Assess
    expect(result).toMatchObject({ pages: 2, seen: 150, created: 30, existing: 120 });
    for (const { id, copied } of ids) {
      const head = await store.getHead(provider.lookup(APP_KEY, { msgId: id })?.id ?? "");
      expect(head?.first?.source).toBe(copied ? "callback" : "reconcile");
      expect(head).toMatchObject({
        kind: "p2p",
        state: "sent",
        key: { msgId: id, convType: "PERSON", msgType: "TEXT" },
      });
    }
  });
});

describe("validateReconcile", () => {
  it("turns a spec into the history query, at the spec's times", async () => {
    // Prepare
    const { editor } = await tencentSetup();

    // Act
    const query = validateReconcile(
      {
        provider: "tencent",
        appId: APP_ID,
        groupId: "g",
        topicId: "t",
        since: "2026-01-01T00:00:00Z",
        until: "2026-01-02T00:00:00.500Z",
      },
      editor,
    );

    // Assess
    expect(query).toEqual({
      groupId: "g",
      topicId: "t",
      since: Date.UTC(2026, 0, 1),
      until: Date.UTC(2026, 0, 2) + 500,
    });
  });

  it("answers a clear 400 for a spec the provider cannot page", async () => {
    // Prepare
    const { editor } = await tencentSetup();
    const { history: _history, ...withoutHistory } = editor;
    const base = {
      provider: "tencent" as const,
      appId: APP_ID,
      since: "2026-01-01T00:00:00Z",
      until: "2026-01-02T00:00:00Z",
    };
    const cases: [ReconcileSpec, ProviderEditor | undefined, RegExp][] = [
      [{ ...base, pair: ["a", "b"] }, undefined, /no editor is configured/],
      [{ ...base, appId: "1400000001", pair: ["a", "b"] }, editor, /no editor is configured/],
      [{ ...base, pair: ["a", "b"] }, withoutHistory, /no history API/],
      [{ ...base }, editor, /pair \[a, b\] or groupId/],
      [{ ...base, pair: ["a", "b"], groupId: "g" }, editor, /not both/],
      [{ ...base, pair: ["a", ""] }, editor, /two non-empty/],
      [{ ...base, pair: ["a", "b"], topicId: "t" }, editor, /topicId needs a groupId/],
      [{ ...base, groupId: "g", since: "yesterday" }, editor, /since must be an ISO 8601/],
      [{ ...base, groupId: "g", until: base.since }, editor, /since must be before until/],
    ];

    // Act
    const errors = cases.map(([spec, target]) => {
      try {
        validateReconcile(spec, target);
        return undefined;
      } catch (error: unknown) {
        return error;
      }
    });

    // Assess
    errors.forEach((error, i) => {
      expect(error).toBeInstanceOf(BadRequestError);
      expect((error as Error).message).toMatch(cases[i]?.[2] ?? /never/);
    });
  });
});
