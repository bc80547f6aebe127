import { createHash } from "node:crypto";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { NeteaseSimulator } from "../../../local/simulators/netease/api.ts";

const APP_KEY = "history-test-appkey";
const APP_SECRET = "history-test-secret";
const sha1 = (text: string) => createHash("sha1").update(text, "utf8").digest("hex");

const running: NeteaseSimulator[] = [];
afterEach(async () => {
  for (const sim of running.splice(0)) await sim.close();
});

/** A simulator on a clock that tests move, near the real time (CurTime is checked within 5 minutes). */
async function simulator() {
  const clock = { ms: Math.floor(Date.now() / 1000) * 1000 - 60_000 };
  const sim = await NeteaseSimulator.start({ appKey: APP_KEY, appSecret: APP_SECRET, now: () => clock.ms });
  running.push(sim);
  return { sim, clock };
}

async function call(sim: NeteaseSimulator, method: "GET" | "POST", path: string, body?: unknown) {
  const nonce = "0123456789abcdef";
  const curTime = String(Math.floor(Date.now() / 1000));
  const response = await request(`${sim.url}${path}`, {
    method,
    headers: {
      AppKey: APP_KEY,
      Nonce: nonce,
      CurTime: curTime,
      CheckSum: sha1(APP_SECRET + nonce + curTime),
      ...(body !== undefined ? { "Content-Type": "application/json;charset=UTF-8" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.body.text();
  return { text, json: JSON.parse(text) as { code: number; msg: string; data: Record<string, unknown> } };
}

/** Sends `count` texts a → b, 100 ms apart on the simulator's clock; no copy (route disabled). */
async function sendMany(
  sim: NeteaseSimulator,
  clock: { ms: number },
  conversation: string,
  count: number,
): Promise<{ id: string; time: number }[]> {
  const sent = [];
  for (let i = 0; i < count; i++) {
    clock.ms += 100;
    const reply = await call(
      sim,
      "POST",
      `/im/v2/conversations/${encodeURIComponent(conversation)}/messages`,
      {
        message: { message_type: 0, text: `m${i}` },
        route_config: { route_enabled: false },
      },
    );
    const id = /"message_server_id":(\d+)/.exec(reply.text)?.[1] ?? "";
    sent.push({ id, time: clock.ms });
  }
  return sent;
}

function history(sim: NeteaseSimulator, conversation: string, params: Record<string, string>) {
  const query = new URLSearchParams(params);
  return call(sim, "GET", `/im/v2.1/conversations/${encodeURIComponent(conversation)}/messages?${query}`);
}

/** Every page of a query, following next_token; the raw texts too, for exact ids. */
async function allPages(sim: NeteaseSimulator, conversation: string, params: Record<string, string>) {
  const pages: { items: Record<string, unknown>[]; ids: string[] }[] = [];
  let token = "";
  for (let i = 0; i < 20; i++) {
    const reply = await history(sim, conversation, { ...params, ...(token ? { page_token: token } : {}) });
    expect(reply.json.code).toBe(200);
    const items = reply.json.data.items as Record<string, unknown>[];
    const ids = [...reply.text.matchAll(/"message_server_id":(\d+)/g)].map((match) => match[1] ?? "");
    pages.push({ items, ids });
    if (reply.json.data.has_more !== true) {
      expect(reply.json.data.next_token).toBe("");
      return pages;
    }
    token = String(reply.json.data.next_token);
  }
  throw new Error("more than 20 pages");
}

describe("Yunxin simulator: page history (GET /im/v2.1/conversations/{id}/messages)", () => {
  it("pages 250 messages newest first in pages of `limit` (at most 100), both directions of a P2P pair", async () => {
    // Prepare
    const { sim, clock } = await simulator();
    const forth = await sendMany(sim, clock, "alice|1|bob", 200);
    const back = await sendMany(sim, clock, "bob|1|alice", 50);
    await sendMany(sim, clock, "alice|1|carol", 5);
    const all = [...forth, ...back];
    const range = { begin_time: "0", end_time: String(clock.ms) };

    // Act
    const pages = await allPages(sim, "alice|1|bob", { ...range, limit: "100" });
    const ascending = await allPages(sim, "bob|1|alice", { ...range, limit: "100", descending: "true" });

    // Assess
    expect(pages.map((page) => page.items.length)).toEqual([100, 100, 50]);
    expect(pages.flatMap((page) => page.ids)).toEqual(all.map((m) => m.id).reverse());
    expect(ascending.flatMap((page) => page.ids)).toEqual(all.map((m) => m.id));
    expect(pages[0]?.items[0]).toMatchObject({
      conversation_type: 1,
      sender_id: "bob",
      receiver_id: "alice",
      message_type: 0,
      text: "m49",
      create_time: back.at(-1)?.time,
      sender_client_type: 32,
    });
  });

  it("keeps begin_time ≤ create_time ≤ end_time, leaves recalled messages out, filters message_type", async () => {
    // Prepare
    const { sim, clock } = await simulator();
    const sent = await sendMany(sim, clock, "alice|1|bob", 10);
    const [, second, third, , fifth] = sent;
    await sim.recall(third?.id ?? "");

    // Act
    const window = await history(sim, "alice|1|bob", {
      begin_time: String(second?.time),
      end_time: String(fifth?.time),
      limit: "100",
    });
    const pictures = await history(sim, "alice|1|bob", {
      begin_time: "0",
      end_time: String(clock.ms),
      limit: "10",
      message_type: "1",
    });

    // Assess
    const ids = [...window.text.matchAll(/"message_server_id":(\d+)/g)].map((match) => match[1]);
    expect(ids).toEqual([sent[4]?.id, sent[3]?.id, sent[1]?.id]);
    expect(pictures.json.data).toEqual({ has_more: false, next_token: "", items: [] });
  });

  it("answers 414 for a missing or bad time range, a limit outside 1..100 and another query's page token", async () => {
    // Prepare
    const { sim, clock } = await simulator();
    await sendMany(sim, clock, "alice|1|bob", 3);
    const range = { begin_time: "0", end_time: String(clock.ms) };
    const first = await history(sim, "alice|1|bob", { ...range, limit: "1" });
    const token = String(first.json.data.next_token);

    // Act
    const codes = await Promise.all([
      history(sim, "alice|1|bob", { end_time: "1", limit: "10" }),
      history(sim, "alice|1|bob", { begin_time: "5", end_time: "4", limit: "10" }),
      history(sim, "alice|1|bob", { ...range, limit: "101" }),
      history(sim, "alice|1|bob", { ...range, limit: "0" }),
      history(sim, "alice|1|bob", { ...range }),
      history(sim, "alice|1|bob", { ...range, limit: "1", page_token: "not-a-token" }),
      history(sim, "alice|1|bob", {
        ...range,
        end_time: String(clock.ms - 1),
        limit: "1",
        page_token: token,
      }),
      history(sim, "alice|1|bob", { ...range, limit: "2", page_token: token }),
    ]);

    // Assess
    expect(codes.map((reply) => reply.json.code)).toEqual([414, 414, 414, 414, 414, 414, 414, 200]);
    expect(sim.stats.calls.queryMessages).toBe(9);
  });

  it("reads a team's history as a member (804 otherwise), 803 for a team of the other kind", async () => {
    // Prepare
    const { sim, clock } = await simulator();
    sim.createTeam("11623", "team", "owner", ["alice"]);
    sim.createTeam("99001", "superteam", "owner");
    await sendMany(sim, clock, "alice|2|11623", 3);
    const range = { begin_time: "0", end_time: String(clock.ms), limit: "100" };

    // Act
    const member = await history(sim, "owner|2|11623", range);
    const stranger = await history(sim, "mallory|2|11623", range);
    const unchecked = await history(sim, "mallory|2|11623", { ...range, check_team_valid: "false" });
    const wrongKind = await history(sim, "owner|2|99001", range);
    const superTeam = await history(sim, "owner|3|99001", range);

    // Assess
    expect(member.json.code).toBe(200);
    expect(member.json.data.items).toHaveLength(3);
    expect(member.text).toContain('"team_id":11623');
    expect(stranger.json.code).toBe(804);
    expect(unchecked.json.data.items).toHaveLength(3);
    expect(wrongKind.json.code).toBe(803);
    expect(superTeam.json.data).toEqual({ has_more: false, next_token: "", items: [] });
  });
});
