import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type RateSlot, SlidingWindowLimiter } from "../../../../functions/core/limiter.ts";
import type { Content, ObservedMessage } from "../../../../functions/core/model.ts";
import type { HistoryItem, HistoryQuery, ProviderEditor } from "../../../../functions/core/provider.ts";
import { createNeteaseEditor } from "../../../../functions/providers/netease/editor.ts";
import { NeteaseRestClient } from "../../../../functions/providers/netease/rest.ts";
import { NeteaseSimulator } from "../../../../local/simulators/netease/api.ts";
import { APP_KEY, APP_SECRET, copyRequest, neteaseProvider } from "../../../helpers/netease.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/** A limiter that records the keys of the slots it grants: every history call must take one. */
class RecordingLimiter extends SlidingWindowLimiter {
  readonly granted: string[] = [];
  constructor() {
    super(() => ({ limit: 1000, windowMs: 1000 }));
  }
  override acquire(key: string, maxWaitMs: number): Promise<RateSlot> {
    this.granted.push(key);
    return super.acquire(key, maxWaitMs);
  }
}

const closing: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const item of closing.splice(0)) await item.close();
});

/** The simulator on a clock the tests move (the REST client signs with the same clock), copies collected. */
async function setup(operator?: string) {
  const copies: Buffer[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      copies.push(Buffer.concat(chunks));
      res.writeHead(200, { "content-type": "application/json" }).end('{"code":200}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const clock = { ms: Date.now() - DAY_MS };
  const sim = await NeteaseSimulator.start({
    appKey: APP_KEY,
    appSecret: APP_SECRET,
    copyUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    now: () => clock.ms,
  });
  closing.push(sim, { close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
  const limiter = new RecordingLimiter();
  const rest = new NeteaseRestClient({
    baseUrl: sim.url,
    appKey: APP_KEY,
    appSecret: APP_SECRET,
    limiter,
    now: () => clock.ms,
  });
  const editor = createNeteaseEditor({
    appKey: APP_KEY,
    rest,
    routeEnabled: true,
    maxAgeMs: 7 * DAY_MS,
    ...(operator !== undefined ? { operator } : {}),
  });
  const send = async (conversation: string, message: Record<string, unknown>, copy = true) => {
    clock.ms += 7;
    const reply = await rest.call(
      "POST",
      `/im/v2/conversations/${encodeURIComponent(conversation)}/messages`,
      JSON.stringify({ message, ...(copy ? {} : { route_config: { route_enabled: false } }) }),
      { operation: "send", deadline: Date.now() + 5_000, resendAfterSend: false, rateKeys: [] },
    );
    return { id: String(reply.data?.message_server_id), time: clock.ms };
  };
  return { sim, clock, copies, limiter, editor, send };
}

async function readAll(editor: ProviderEditor, query: HistoryQuery) {
  const items: HistoryItem[] = [];
  const sizes: number[] = [];
  let token: string | undefined;
  do {
    const page = await editor.history?.(query, token, Date.now() + 5_000);
    if (!page) throw new Error("no history");
    items.push(...page.items);
    sizes.push(page.items.length);
    token = page.nextToken;
  } while (token !== undefined && sizes.length < 50);
  return { items, sizes };
}

/** What the copy path observes for each copy, by id (message and content). */
function observedByCopies(
  copies: readonly Buffer[],
): Map<string, { message: ObservedMessage; content: Content }> {
  const provider = neteaseProvider();
  const out = new Map<string, { message: ObservedMessage; content: Content }>();
  for (const body of copies) {
    for (const event of provider.interpret(copyRequest(body))) {
      if (event.type === "observed")
        out.set(event.message.id, { message: event.message, content: event.content });
    }
  }
  return out;
}

describe("Yunxin history (reconcile's reading)", () => {
  it("pages a P2P pair in pages of 100, every call rate-limited, ids, keys and content as the copies give", async () => {
    // Prepare
    const { clock, copies, limiter, editor, send } = await setup();
    const since = clock.ms;
    for (let i = 0; i < 250; i++) {
      const [from, to] = i % 4 === 0 ? ["bob", "alice"] : ["alice", "bob"];
      await send(`${from}|1|${to}`, { message_type: 0, text: `hello ${i}` });
    }
    await send("alice|1|bob", { message_type: 1, attachment: { url: "https://x/y.png", w: 10, h: 20 } });
    limiter.granted.length = 0;

    // Act
    const { items, sizes } = await readAll(editor, { pair: ["alice", "bob"], since, until: clock.ms + 1 });

    // Assess
    expect(sizes).toEqual([100, 100, 51]);
    expect(limiter.granted).toEqual(sizes.map(() => `netease:${APP_KEY}:queryMessages`));
    const viaCopies = observedByCopies(copies);
    expect(viaCopies.size).toBe(251);
    for (const item of items) {
      expect(item).toMatchObject({ state: "sent" });
      expect({ message: item.message, content: item.content }).toEqual(viaCopies.get(item.message.id));
    }
    // Ids above 2^53 stay exact.
    expect(BigInt(items[0]?.message.key.msgId ?? "0")).toBeGreaterThan(2n ** 53n);
  });

  it("keeps [since, until) to the millisecond; a recalled message is not in Yunxin's history", async () => {
    // Prepare
    const { sim, editor, send } = await setup();
    const sent = [];
    for (let i = 0; i < 5; i++)
      sent.push(await send("alice|1|bob", { message_type: 0, text: `m${i}` }, false));
    await sim.recall(sent[2]?.id ?? "");

    // Act
    const { items } = await readAll(editor, {
      pair: ["bob", "alice"],
      since: sent[1]?.time ?? 0,
      until: sent[4]?.time ?? 0,
    });

    // Assess
    expect(items.map((item) => item.message.key.msgId)).toEqual([sent[3]?.id, sent[1]?.id]);
  });

  it("reads a team as NETEASE_OPERATOR, finds a super team by Yunxin's 803, and says why it cannot page", async () => {
    // Prepare
    const { sim, clock, copies, editor, send } = await setup("owner");
    const { editor: withoutOperator } = await setup();
    sim.createTeam("11623", "team", "owner", ["alice"]);
    sim.createTeam("99001", "superteam", "owner", ["alice"]);
    const since = clock.ms;
    await send("alice|2|11623", { message_type: 0, text: "team" });
    await send("alice|3|99001", { message_type: 0, text: "super" });

    // Act
    const team = await readAll(editor, { groupId: "11623", since, until: clock.ms + 1 });
    const superTeam = await readAll(editor, { groupId: "99001", since, until: clock.ms + 1 });
    const problems = [
      withoutOperator.historyProblem?.({ groupId: "11623", since, until: clock.ms }),
      editor.historyProblem?.({ groupId: "11623", topicId: "t", since, until: clock.ms }),
      editor.historyProblem?.({ groupId: "not-digits", since, until: clock.ms }),
      editor.historyProblem?.({ pair: ["a", "b"], since, until: clock.ms }),
    ];

    // Assess
    const viaCopies = observedByCopies(copies);
    for (const item of [...team.items, ...superTeam.items]) {
      expect({ message: item.message, content: item.content }).toEqual(viaCopies.get(item.message.id));
    }
    expect(team.items.map((item) => [item.message.kind, item.message.conversation])).toEqual([
      ["team", "team:11623"],
    ]);
    expect(superTeam.items.map((item) => [item.message.kind, item.content])).toEqual([
      ["superteam", { text: "super" }],
    ]);
    expect(problems[0]).toMatch(/NETEASE_OPERATOR/);
    expect(problems[1]).toMatch(/topics/);
    expect(problems[2]).toMatch(/digits/);
    expect(problems[3]).toBeUndefined();
  });
});
