import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventEnvelope } from "../../../functions/adapters/outbox/http.ts";
import type { LocalStack } from "../../../local/stack.ts";
import { fixture } from "../../helpers/fixtures.ts";
import { createJob, seedMessages, waitForJob } from "../../helpers/jobs.ts";
import { api, postTencent, startTestStack } from "../../helpers/stack.ts";
import { APP_ID } from "../../helpers/tencent.ts";
import { tencentApp } from "../../helpers/tencent-app.ts";

const text = (value: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: value } }];

const RULES = {
  rules: [
    {
      id: "bs-redact-phone",
      on: "before-send",
      match: { provider: "tencent", text: "1[3-9]\\d{9}" },
      action: { redact: { pattern: "1[3-9]\\d{9}", mask: "***" } },
    },
    {
      id: "as-redact-card",
      on: "after-send",
      match: { text: "\\d{4}-\\d{4}-\\d{4}-\\d{4}" },
      action: { redact: { pattern: "\\d{4}-\\d{4}-\\d{4}-\\d{4}", mask: "[card]" } },
    },
  ],
};

type VersionEvent = EventEnvelope["detail"] & { type: "MessageRecorded" | "MessageEdited" };
interface VersionBody {
  readonly version: number;
  readonly source: string;
  readonly ruleId?: string;
  readonly jobId?: string;
}

/**
 * Exactly one MessageRecorded/MessageEdited per (message, version) for the versions nobody typed: a
 * before-send rule's rewrite, an after-send rule's edit (and its echo), a bulk job's edits.
 */
describe("events for automatic edits: rules and bulk jobs", () => {
  let stack: LocalStack;
  let dir: string;
  let collector: Server;
  const envelopes: EventEnvelope[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "im-edit-events-"));
    await writeFile(join(dir, "rules.json"), JSON.stringify(RULES));
    collector = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
      envelopes.push(...(JSON.parse(Buffer.concat(chunks).toString("utf8")) as EventEnvelope[]));
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    const port = (collector.address() as AddressInfo).port;
    stack = await startTestStack({
      tencentSimulator: true,
      env: { IM_EDIT_RULES: join(dir, "rules.json"), IM_EDIT_EVENTS_URL: `http://127.0.0.1:${port}/` },
    });
  });
  afterAll(async () => {
    await stack.close();
    collector.closeAllConnections();
    await new Promise((resolve) => collector.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const versionEvents = (id: string) =>
    envelopes
      .map((envelope) => envelope.detail)
      .filter((event): event is VersionEvent => event.id === id && event.type !== "EditFailed");
  const versions = async (id: string) =>
    ((await api(stack.url, `/v1/messages/${id}/versions?limit=100`)).body as { items: VersionBody[] }).items;
  const idOf = async (msgKey: string) => {
    const found = await api(stack.url, `/v1/messages?provider=tencent&appId=${APP_ID}&msgKey=${msgKey}`);
    return found.status === 200 ? (found.body as { id: string }).id : undefined;
  };

  /** Waits (bounded) until the message has `count` versions and as many events, then a moment more. */
  async function settled(
    id: string,
    count: number,
  ): Promise<{ events: VersionEvent[]; history: VersionBody[] }> {
    for (let i = 0; i < 200; i++) {
      if ((await versions(id)).length >= count && versionEvents(id).length >= count) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    // Anything doubled (an echo, a redelivered task) would arrive now.
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { events: versionEvents(id), history: await versions(id) };
  }

  /**
   * One event per version, matching the version's source, ruleId and jobId. A record created before
   * delivery (a before-send's pending record) also had one MessageRecorded at version 0, without a source.
   */
  function expectOnePerVersion(all: readonly VersionEvent[], history: readonly VersionBody[]): void {
    const pending = all.filter((e) => e.version === 0);
    expect(pending.length).toBeLessThanOrEqual(1);
    for (const event of pending) {
      expect(event).toMatchObject({ type: "MessageRecorded", state: "pending" });
      expect(event).not.toHaveProperty("source");
    }
    const events = all.filter((e) => e.version > 0);
    expect(events.map((e) => e.version).sort((a, b) => a - b)).toEqual(history.map((v) => v.version));
    for (const version of history) {
      const event = events.find((e) => e.version === version.version);
      expect(event).toMatchObject({
        type: version.version === 1 ? "MessageRecorded" : "MessageEdited",
        source: version.source,
        ...(version.ruleId !== undefined ? { ruleId: version.ruleId } : {}),
        ...(version.jobId !== undefined ? { jobId: version.jobId } : {}),
      });
      if (version.ruleId === undefined) expect(event).not.toHaveProperty("ruleId");
      if (version.jobId === undefined) expect(event).not.toHaveProperty("jobId");
    }
  }

  it("an after-send rule's edit: MessageRecorded (callback) then one MessageEdited (auto, ruleId), its echo none", async () => {
    // Act
    const msgKey = await tencentApp(stack).sendC2C("alice", "bob", "card 1234-5678-9012-3456 ok");

    // Assess
    const id = await idOf(msgKey);
    if (id === undefined) throw new Error("not recorded");
    const { events, history } = await settled(id, 2);
    expect(history.map((v) => [v.version, v.source, v.ruleId])).toEqual([
      [1, "callback", undefined],
      [2, "auto", "as-redact-card"],
    ]);
    expectOnePerVersion(events, history);
  });

  it("a before-send rule's rewrite: the pending record, then the typed original (v1) and the rewrite (v2), one event each", async () => {
    // Prepare: Tencent's before-send played by the test (the simulator sends none), then the send it allows.
    const app = tencentApp(stack);
    let msgKey: string | undefined;
    for (let attempt = 0; attempt < 3 && msgKey === undefined; attempt++) {
      const msgSeq = Math.floor(Math.random() * 1e6);
      const msgRandom = Math.floor(Math.random() * 4e9);
      const msgTime = Math.floor(Date.now() / 1000);
      const before = {
        ...fixture("tencent", "c2c-before-send"),
        From_Account: "carol",
        To_Account: "dave",
        MsgSeq: msgSeq,
        MsgRandom: msgRandom,
        MsgTime: msgTime,
        MsgKey: `${msgSeq}_${msgRandom}_${msgTime}`,
        MsgBody: text("call 13812345678 now"),
        CloudCustomData: undefined,
      };

      // Act
      const answer = await postTencent(stack.url, before);
      const sent = await app.call("openim", "sendmsg", {
        From_Account: "carol",
        To_Account: "dave",
        MsgSeq: msgSeq,
        MsgRandom: msgRandom,
        MsgBody: (answer.body as { MsgBody?: unknown }).MsgBody ?? before.MsgBody,
      });
      if (String(sent.MsgKey) === before.MsgKey) msgKey = before.MsgKey;
    }
    if (msgKey === undefined) throw new Error("could not line the before-send up with the send");

    // Assess
    let id: string | undefined;
    for (let i = 0; i < 100 && id === undefined; i++) {
      id = await idOf(msgKey);
      if (id === undefined) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (id === undefined) throw new Error("not recorded");
    const { events, history } = await settled(id, 2);
    expect(history.map((v) => [v.version, v.source, v.ruleId])).toEqual([
      [1, "callback", undefined],
      [2, "auto", "bs-redact-phone"],
    ]);
    expectOnePerVersion(events, history);
  });

  it("a bulk job's edits: one MessageEdited per message with the jobId", async () => {
    // Prepare
    const messages = await seedMessages(stack, 6, (i) => `note ${i}`);
    const ids = await Promise.all(messages.map((m) => idOf(m.msgKey)));

    // Act
    const created = await createJob(stack.url, {
      selector: { provider: "tencent", appId: APP_ID, sender: messages[0]?.from ?? "" },
      edit: { text: "moderated" },
    });
    const jobId = (created.body as { id: string }).id;
    const job = await waitForJob(stack.url, jobId);

    // Assess
    expect(job).toMatchObject({ status: "done", done: 6 });
    for (const id of ids) {
      if (id === undefined) throw new Error("not recorded");
      const { events, history } = await settled(id, 2);
      expect(history.map((v) => [v.version, v.source, v.jobId])).toEqual([
        [1, "callback", undefined],
        [2, "api", jobId],
      ]);
      expectOnePerVersion(events, history);
    }
  });

  it("no (message, version) was published twice, over everything this stack did", () => {
    const keys = envelopes
      .map((envelope) => envelope.detail)
      .filter((event) => event.type !== "EditFailed")
      .map((event) => `${event.id}/${event.version}`);
    expect(keys.length).toBeGreaterThan(0);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
