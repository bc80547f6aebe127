import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { generateUserSig, TencentSimulator } from "../../../local/simulators/tencent/api.ts";

const APP = "1400000000";
const KEY = "history-test-secret-key";
const ADMIN = "administrator";
// Long-lived: the roaming test moves the simulator's clock 7 days on.
const SIG = generateUserSig(APP, KEY, ADMIN, 30 * 86_400);
const DAY_MS = 24 * 60 * 60 * 1000;

const running: TencentSimulator[] = [];
afterEach(async () => {
  for (const sim of running.splice(0)) await sim.close();
});

async function simulator(roamingDays?: number) {
  const clock = { ms: Math.floor(Date.now() / 1000) * 1000 };
  const sim = await TencentSimulator.start({
    sdkAppId: APP,
    secretKey: KEY,
    adminIdentifier: ADMIN,
    now: () => clock.ms,
    ...(roamingDays !== undefined ? { roamingDays } : {}),
  });
  running.push(sim);
  return { sim, clock };
}

async function call(sim: TencentSimulator, path: string, body: unknown): Promise<Record<string, unknown>> {
  const query = new URLSearchParams({
    sdkappid: APP,
    identifier: ADMIN,
    usersig: SIG,
    random: "7",
    contenttype: "json",
  });
  const response = await request(`${sim.url}/v4/${path}?${query}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return (await response.body.json()) as Record<string, unknown>;
}

/** A one-text-element MsgBody. */
const body = (text: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: text } }];

describe("Tencent simulator: history paging", () => {
  it("pages admin_getroammsg with LastMsgKey / LastMsgTime until Complete, under the ~13 KB cap", async () => {
    // Prepare: 250 messages, 4 per second, each ~200 bytes in the answer.
    const { sim, clock } = await simulator();
    const keys: string[] = [];
    for (let i = 0; i < 250; i++) {
      if (i % 4 === 0) clock.ms += 1000;
      const reply = await call(sim, "openim/sendmsg", {
        From_Account: i % 2 === 0 ? "alice" : "bob",
        To_Account: i % 2 === 0 ? "bob" : "alice",
        MsgRandom: i,
        // Within a second Tencent orders by MsgSeq (the sender's): ascending seqs keep the send order.
        MsgSeq: i + 1,
        MsgBody: body(`message ${i} ${"x".repeat(40)}`),
      });
      keys.push(String(reply.MsgKey));
    }

    // Act
    const pages: Record<string, unknown>[] = [];
    let next: { MaxTime: number; LastMsgKey: string } | undefined;
    do {
      const page = await call(sim, "openim/admin_getroammsg", {
        Operator_Account: "alice",
        Peer_Account: "bob",
        MaxCnt: 100,
        MinTime: 0,
        MaxTime: next?.MaxTime ?? Math.floor(clock.ms / 1000),
        ...(next ? { LastMsgKey: next.LastMsgKey } : {}),
      });
      pages.push(page);
      next = { MaxTime: Number(page.LastMsgTime), LastMsgKey: String(page.LastMsgKey) };
    } while (pages.at(-1)?.Complete === 0 && pages.length < 20);

    // Assess
    const counts = pages.map((page) => Number(page.MsgCnt));
    expect(pages.length).toBeGreaterThan(2);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(250);
    for (const page of pages) expect(JSON.stringify(page.MsgList).length).toBeLessThanOrEqual(13 * 1024);
    const listed = pages.flatMap((page) => (page.MsgList as { MsgKey: string }[]).map((m) => m.MsgKey));
    expect(listed).toEqual([...keys].reverse());
    expect(pages.at(-1)?.Complete).toBe(1);
  });

  it("shows only messages inside the roaming window (default 7 days)", async () => {
    // Prepare
    const { sim, clock } = await simulator();
    const send = async (text: string) =>
      String(
        (
          await call(sim, "openim/sendmsg", {
            From_Account: "alice",
            To_Account: "bob",
            MsgRandom: 1,
            MsgBody: body(text),
          })
        ).MsgKey,
      );
    await send("old");
    clock.ms += 7 * DAY_MS + 1000;
    const recent = await send("recent");

    // Act
    const page = await call(sim, "openim/admin_getroammsg", {
      Operator_Account: "bob",
      Peer_Account: "alice",
      MaxCnt: 100,
      MinTime: 0,
      MaxTime: 4_000_000_000,
    });

    // Assess
    expect(page).toMatchObject({ Complete: 1, MsgCnt: 1, MsgList: [{ MsgKey: recent }] });
  });

  it("pages group_msg_get_simple backwards by ReqMsgSeq, 20 at most, recalled ones flagged on request", async () => {
    // Prepare
    const { sim } = await simulator();
    sim.createGroup("g1", "Public");
    for (let i = 0; i < 45; i++) {
      await call(sim, "group_open_http_svc/send_group_msg", {
        GroupId: "g1",
        Random: i,
        MsgBody: body(`g${i}`),
      });
    }
    await call(sim, "group_open_http_svc/group_msg_recall", { GroupId: "g1", MsgSeqList: [{ MsgSeq: 30 }] });

    // Act
    const seqs: number[][] = [];
    let upTo: number | undefined;
    for (let page = 0; page < 5; page++) {
      const reply = await call(sim, "group_open_http_svc/group_msg_get_simple", {
        GroupId: "g1",
        ReqMsgNumber: 20,
        WithRecalledMsg: 1,
        ...(upTo !== undefined ? { ReqMsgSeq: upTo } : {}),
      });
      const list = reply.RspMsgList as { MsgSeq: number; IsPlaceMsg: number }[];
      seqs.push(list.map((item) => item.MsgSeq));
      if (list.some((item) => item.MsgSeq === 30))
        expect(list.find((i) => i.MsgSeq === 30)?.IsPlaceMsg).toBe(2);
      const lowest = Math.min(...list.map((item) => item.MsgSeq));
      if (lowest <= 1) break;
      upTo = lowest - 1;
    }
    const tooMany = await call(sim, "group_open_http_svc/group_msg_get_simple", {
      GroupId: "g1",
      ReqMsgNumber: 21,
    });

    // Assess
    expect(seqs.map((page) => page.length)).toEqual([20, 20, 5]);
    expect(seqs.flat()).toEqual(Array.from({ length: 45 }, (_, i) => 45 - i));
    expect(tooMany.ErrorCode).toBe(10004);
  });
});
