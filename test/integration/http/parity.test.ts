import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../../local/stack.ts";
import { send } from "../../helpers/http.ts";
import { neteaseApp } from "../../helpers/netease-app.ts";
import { api, startTestStack } from "../../helpers/stack.ts";
import { APP_ID } from "../../helpers/tencent.ts";
import { tencentApp } from "../../helpers/tencent-app.ts";

/**
 * The same scenarios on both providers: one contract, whatever the provider. Each driver sends a
 * message the provider's way (so the recorder hears of it by the provider's callback or copy), edits
 * it with `{ "text": … }`, and reads what the provider now holds.
 */
interface Driver {
  readonly name: string;
  /** Sends a text message; answers its im-edit id once recorded, and a reader of the provider's text. */
  sendText(text: string): Promise<{ id: string; providerText: () => string | undefined }>;
  injectLostAnswer(): void;
}

let stack: LocalStack;

const drivers: Driver[] = [
  {
    name: "tencent",
    async sendText(text) {
      const from = `p-${randomUUID().slice(0, 8)}`;
      const msgKey = await tencentApp(stack).sendC2C(from, "parity-peer", text);
      const found = await api(stack.url, `/v1/messages?provider=tencent&appId=${APP_ID}&msgKey=${msgKey}`);
      const providerText = () => {
        const text = stack.tencent?.c2cMessage(from, "parity-peer", msgKey)?.MsgBody[0]?.MsgContent.Text;
        return typeof text === "string" ? text : undefined;
      };
      return { id: (found.body as { id: string }).id, providerText };
    },
    injectLostAnswer: () => stack.tencent?.inject({ api: "modify_c2c_msg", kind: "reset-after-apply" }),
  },
  {
    name: "netease",
    async sendText(text) {
      const app = neteaseApp(stack);
      const msgId = await app.sendText(`p-${randomUUID().slice(0, 8)}`, "parity-peer", text);
      const found = await api(stack.url, `/v1/messages?provider=netease&appId=${app.appKey}&msgId=${msgId}`);
      return {
        id: (found.body as { id: string }).id,
        providerText: () => stack.netease?.message(msgId)?.text,
      };
    },
    injectLostAnswer: () => stack.netease?.inject({ api: "modifyMsg", kind: "reset-after-apply" }),
  },
];

const history = async (id: string) =>
  (
    (await api(stack.url, `/v1/messages/${id}/versions`)).body as {
      items: { version: number; source: string; content: Record<string, unknown> }[];
    }
  ).items;
const textOf = (content: Record<string, unknown>): unknown =>
  "text" in content
    ? content.text
    : (content.MsgBody as { MsgContent: { Text?: string } }[] | undefined)?.[0]?.MsgContent.Text;

beforeAll(async () => {
  stack = await startTestStack({ tencentSimulator: true, neteaseSimulator: true });
});
afterAll(async () => {
  await stack.close();
});

describe.each(drivers)("parity: $name", (driver) => {
  it("edits, lists history, restores: the provider always holds the newest version", async () => {
    const message = await driver.sendText("first");
    expect((await send(stack.url, "PATCH", `/v1/messages/${message.id}`, { text: "second" })).status).toBe(
      200,
    );
    const restored = await send(stack.url, "POST", `/v1/messages/${message.id}/restore`, { version: 1 });
    expect(restored.status).toBe(200);
    const versions = await history(message.id);
    expect(versions.map((v) => [v.version, v.source, textOf(v.content)])).toEqual([
      [1, "callback", "first"],
      [2, "api", "second"],
      [3, "restore", "first"],
    ]);
    expect(message.providerText()).toBe("first");
  });

  it("answers 412 for a stale If-Match and serializes concurrent edits", async () => {
    const message = await driver.sendText("base");
    expect(
      (await send(stack.url, "PATCH", `/v1/messages/${message.id}`, { text: "x" }, { "if-match": '"5"' }))
        .status,
    ).toBe(412);
    const replies = await Promise.all(
      ["a", "b"].map((text) => send(stack.url, "PATCH", `/v1/messages/${message.id}`, { text })),
    );
    expect(replies.every((r) => r.status === 200 || r.status === 409)).toBe(true);
    const versions = await history(message.id);
    expect(versions.map((v) => v.version)).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1));
    expect(textOf(versions.at(-1)?.content ?? {})).toBe(message.providerText());
  });

  it("replays an Idempotency-Key and refuses it for another body", async () => {
    const message = await driver.sendText("idem");
    const key = { "idempotency-key": randomUUID() };
    const first = await send(stack.url, "PATCH", `/v1/messages/${message.id}`, { text: "once" }, key);
    const again = await send(stack.url, "PATCH", `/v1/messages/${message.id}`, { text: "once" }, key);
    const other = await send(stack.url, "PATCH", `/v1/messages/${message.id}`, { text: "other" }, key);
    expect(again.body).toEqual(first.body);
    expect(other.status).toBe(422);
    expect(await history(message.id)).toHaveLength(2);
  });

  it("settles a lost answer by the echo or a read-back: one version, no resend", async () => {
    const message = await driver.sendText("lost");
    driver.injectLostAnswer();
    const edited = await send(stack.url, "PATCH", `/v1/messages/${message.id}`, { text: "applied anyway" });
    expect(edited.status).toBe(200);
    expect((await history(message.id)).map((v) => v.source)).toEqual(["callback", "api"]);
    expect(message.providerText()).toBe("applied anyway");
  });

  it("purges history but the newest version", async () => {
    const message = await driver.sendText("private");
    await send(stack.url, "PATCH", `/v1/messages/${message.id}`, { text: "public" });
    const purged = await send(stack.url, "DELETE", `/v1/messages/${message.id}/versions?reason=request`);
    expect(purged.body).toEqual({ id: message.id, purged: 1 });
    expect((await history(message.id)).map((v) => textOf(v.content))).toEqual([undefined, "public"]);
  });
});
