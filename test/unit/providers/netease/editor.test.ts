import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import {
  BadRequestError,
  ConflictError,
  OutcomeUnknownError,
  UnprocessableError,
} from "../../../../functions/core/errors.ts";
import { SlidingWindowLimiter } from "../../../../functions/core/limiter.ts";
import type { MessageHead } from "../../../../functions/core/model.ts";
import { createNeteaseEditor } from "../../../../functions/providers/netease/editor.ts";
import { NeteaseRestClient } from "../../../../functions/providers/netease/rest.ts";
import { rendered } from "../../../helpers/errors.ts";
import { type Script, scriptedServer } from "../../../helpers/scripted-server.ts";

const BIG_ID = "158844553334358021"; // above 2^53: as a JS number it would round to ...020

let servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

async function editor(script: Script[] = [], overrides: { operator?: string; routeEnabled?: boolean } = {}) {
  const server = await scriptedServer(script);
  servers.push(server);
  const rest = new NeteaseRestClient({
    baseUrl: `${server.url}/nimserver`,
    appKey: "key",
    appSecret: "secret",
    limiter: new SlidingWindowLimiter(() => ({ limit: 100, windowMs: 1000 })),
  });
  const edit = createNeteaseEditor({
    appKey: "key",
    rest,
    routeEnabled: overrides.routeEnabled ?? true,
    maxAgeMs: 7 * 86_400_000 - 600_000,
    ...overrides,
  });
  return { edit, server };
}

const head = (
  content: Record<string, unknown> = { text: "hi" },
  time = Date.now() - 60_000,
): MessageHead => ({
  id: "nim_aaaaaaaaaaaaaaaaaaaaaaaaaa",
  provider: "netease",
  appId: "key",
  kind: "p2p",
  key: {
    msgId: BIG_ID,
    from: "alice",
    to: "bob",
    type: "1",
    messageType: "0",
    time: String(time),
    convType: "PERSON",
    msgType: "TEXT",
  },
  conversation: "p2p:alice:bob",
  state: "sent",
  version: 1,
  content,
  createdAt: new Date(time).toISOString(),
  updatedAt: new Date(time).toISOString(),
  rev: 1,
});

/** modifyMsg's 200 answer: `data` carries modify_account_id and modify_time only when it modified. */
const ok = {
  json: {
    code: 200,
    msg: "success",
    data: { modify_account_id: "alice", modify_time: Date.now(), message_type: 0, text: "x" },
  },
};

/** A message of another modifyMsg message_type (1 image, 10 tip, 100 custom...). */
const typed = (messageType: number, content: Record<string, unknown>): MessageHead => {
  const base = head(content);
  return { ...base, key: { ...base.key, messageType: String(messageType) } };
};
const picture = { url: "http://x/y.jpg", name: "y.jpg", ext: "jpg", w: 1, h: 1, size: 1, md5: "0" };

describe("Yunxin editor", () => {
  it("sends modifyMsg with signed headers and the id as an exact JSON number", async () => {
    // Prepare
    const { edit, server } = await editor([ok]);
    const plan = edit.plan(head(), edit.parseChange({ text: "edited" }));
    // Act
    await edit.modify(head(), plan.send, Date.now() + 3_000);
    // Assess
    const [request] = server.received;
    expect(request?.url.pathname).toBe("/nimserver/im/v2/messages/actions/modifyMsg");
    expect(request?.raw).toContain(`"message_server_id":${BIG_ID}`);
    expect(request?.body).toMatchObject({
      operator: "alice",
      type: 1,
      message: { receiver_id: "bob", sender_id: "alice", message_type: 0, text: "edited" },
      route_config: { route_enabled: true },
    });
    const { nonce, curtime, checksum, appkey } = (request?.headers ?? {}) as Record<string, string>;
    expect(appkey).toBe("key");
    expect(nonce?.length).toBeLessThanOrEqual(128);
    expect(Math.abs(Number(curtime) - Date.now() / 1000)).toBeLessThan(5);
    expect(checksum).toBe(createHash("sha1").update(`secret${nonce}${curtime}`).digest("hex"));
    expect(request?.headers["content-type"]).toBe("application/json;charset=UTF-8");
  });

  it("passes modifyMsg options through, the operator override included", async () => {
    const { edit, server } = await editor([ok], { routeEnabled: false });
    const change = edit.parseChange({
      extension: '{"k":"v"}',
      operator: "owner",
      push_config: { push_enabled: false },
      team_option: { check_team_member_valid: false },
    });
    await edit.modify(head(), edit.plan(head(), change).send, Date.now() + 3_000);
    expect(server.received[0]?.body).toMatchObject({
      operator: "owner",
      extension: '{"k":"v"}',
      push_config: { push_enabled: false },
      team_option: { check_team_member_valid: false },
      route_config: { route_enabled: false },
    });
  });

  it("backs off on 416 and 107449, then succeeds", async () => {
    const { edit, server } = await editor([
      { json: { code: 416, msg: "freq" } },
      { json: { code: 107449, msg: "too often" } },
      ok,
    ]);
    await edit.modify(head(), { text: "x" }, Date.now() + 5_000);
    expect(server.received).toHaveLength(3);
  });

  it.each([
    [404, "not found", "not_found", 404],
    [403, "no permission", "not_permitted", 409],
  ])("maps code %i (%s) to %s", async (code, msg, expectedCode, status) => {
    const { edit } = await editor([{ json: { code, msg, data: {} } }]);
    const error = await edit.modify(head(), { text: "x" }, Date.now() + 2_000).catch((e: unknown) => e);
    expect(rendered(error)).toMatchObject({ code: expectedCode, status, providerCode: code });
  });

  // Issue 13 defect 4: 414 is both "parameter error" and "CheckSum refused"; its message is not a
  // contract. A signed read of the same message tells which: refused again → our identity, else the edit.
  it.each([
    ["CheckSum check failed", { json: { code: 200, msg: "success", data: { text: "hi" } } }, 422],
    ["CheckSum check failed", { json: { code: 404, msg: "not found", data: {} } }, 422],
    ["text too long", { json: { code: 414, msg: "bad checksum", data: {} } }, 502],
  ] as const)(
    "classifies 414 (%s) by a signed read: %j → %i, whatever its message says",
    async (msg, probe, status) => {
      const { edit, server } = await editor([{ json: { code: 414, msg, data: {} } }, probe]);
      const error = await edit.modify(head(), { text: "x" }, Date.now() + 2_000).catch((e: unknown) => e);
      expect(rendered(error)).toMatchObject({
        status,
        code: status === 422 ? "content_refused" : "provider_rejected",
        providerCode: 414,
      });
      expect(server.received.map((r) => r.method)).toEqual(["POST", "GET"]);
    },
  );

  it("reports a 414 it cannot classify (the read fails too) as a refusal of our request (502)", async () => {
    const { edit } = await editor([
      { json: { code: 414, msg: "parameter error", data: {} } },
      ...Array.from({ length: 40 }, () => ({ status: 502 }) as const),
    ]);
    const error = await edit.modify(head(), { text: "x" }, Date.now() + 1_500).catch((e: unknown) => e);
    expect(rendered(error)).toMatchObject({ status: 502, code: "provider_rejected", providerCode: 414 });
  });

  // Issue 13 defect 3 for Yunxin: 408 timeout, 500 internal, 503 busy, 514 unavailable do not say
  // whether modifyMsg was applied.
  it.each([408, 500, 503, 514])(
    "reports code %i to modifyMsg as an unknown outcome, without resending it",
    async (code) => {
      const { edit, server } = await editor([{ json: { code, msg: "trouble", data: {} } }, ok]);
      const error = await edit.modify(head(), { text: "x" }, Date.now() + 2_000).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OutcomeUnknownError);
      expect(error).toMatchObject({ providerCode: code, details: { outcome: "unknown" } });
      expect(server.received).toHaveLength(1);
    },
  );

  it("retries the same codes on the read-back", async () => {
    const { edit, server } = await editor([
      { json: { code: 500, msg: "internal", data: {} } },
      { json: { code: 514, msg: "unavailable", data: {} } },
      { json: { code: 200, msg: "success", data: { text: "now" } } },
    ]);
    expect(await edit.readBack(head(), Date.now() + 3_000)).toEqual({ text: "now" });
    expect(server.received).toHaveLength(3);
  });

  // Issue 13 defect 4: a 200 whose data has neither modify_time nor modify_account_id did not modify.
  it("refuses to call a 200 without modify_time / modify_account_id a modification (409 not_modified)", async () => {
    const { edit } = await editor([
      { json: { code: 200, msg: "success", data: { message_type: 0, text: "hi", message_server_id: 1 } } },
    ]);
    const error = await edit.modify(head(), { text: "x" }, Date.now() + 2_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(rendered(error)).toMatchObject({ status: 409, code: "not_modified" });
  });

  it("treats a 200 without any data as an unknown outcome (the read-back decides)", async () => {
    const { edit } = await editor([{ json: { code: 200, msg: "success" } }]);
    const error = await edit.modify(head(), { text: "x" }, Date.now() + 2_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutcomeUnknownError);
  });

  it("accepts a 200 whose data carries the modification fields", async () => {
    const { edit } = await editor([ok]);
    await expect(edit.modify(head(), { text: "x" }, Date.now() + 2_000)).resolves.toEqual({});
  });

  // Issue 13 defect 4: modifyMsg needs `text` for text (0) and tip (10) messages, and `attachment` for
  // every other type (netease-yunxin-modifyMsg.zh.txt): edits of other fields send the current ones.
  it("sends the current text with an extension-only or attachment-only edit of a text or tip message", async () => {
    const { edit, server } = await editor([ok, ok]);
    const extensionOnly = edit.plan(head({ text: "hi" }), edit.parseChange({ extension: '{"k":1}' }));
    expect(extensionOnly.send).toEqual({ text: "hi", extension: '{"k":1}' });
    expect(extensionOnly.content).toEqual({ text: "hi", extension: '{"k":1}' });
    const tip = typed(10, { text: "joined" });
    const attachmentOnly = edit.plan(tip, edit.parseChange({ attachment: { a: 1 } }));
    expect(attachmentOnly.send).toEqual({ text: "joined", attachment: { a: 1 } });
    await edit.modify(head({ text: "hi" }), extensionOnly.send, Date.now() + 2_000);
    await edit.modify(tip, attachmentOnly.send, Date.now() + 2_000);
    expect(server.received.map((r) => (r.body as { message: { text?: string } }).message.text)).toEqual([
      "hi",
      "joined",
    ]);
  });

  it("refuses (422) an edit that would leave a text or tip message without text", async () => {
    const { edit } = await editor();
    expect(() => edit.plan(head({ text: "hi" }), edit.parseChange({ text: "" }))).toThrow(/text/);
    expect(() => edit.plan(head({}), edit.parseChange({ extension: "e" }))).toThrow(UnprocessableError);
    expect(() => edit.plan(typed(10, {}), edit.parseChange({ extension: "e" }))).toThrow(UnprocessableError);
  });

  it("sends the current attachment with a text-only edit of another type, and refuses when it has none", async () => {
    const { edit } = await editor();
    const image = typed(1, { attachment: picture });
    expect(edit.plan(image, edit.parseChange({ text: "a description" })).send).toEqual({
      text: "a description",
      attachment: picture,
    });
    expect(edit.plan(image, edit.parseChange({ extension: "e" })).send).toEqual({
      extension: "e",
      attachment: picture,
    });
    const raw = typed(100, { attachmentRaw: "thisisattach" });
    expect(() => edit.plan(raw, edit.parseChange({ text: "d" }))).toThrow(/attachment/);
    expect(edit.plan(raw, edit.parseChange({ attachment: { b: 2 } })).send).toEqual({ attachment: { b: 2 } });
  });

  it("limits text per type: 5000 characters for text and tip messages, 500 for the others", async () => {
    const { edit } = await editor();
    expect(() => edit.plan(head(), edit.parseChange({ text: "x".repeat(5000) }))).not.toThrow();
    expect(() => edit.plan(typed(10, { text: "t" }), edit.parseChange({ text: "x".repeat(5001) }))).toThrow(
      /5000/,
    );
    const image = typed(1, { attachment: picture });
    expect(() => edit.plan(image, edit.parseChange({ text: "x".repeat(500) }))).not.toThrow();
    const error = (() => {
      try {
        edit.plan(image, edit.parseChange({ text: "x".repeat(501) }));
      } catch (thrown: unknown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(UnprocessableError);
    expect(String((error as Error).message)).toMatch(/500/);
  });

  it("restores by the same rules: text for text messages, the attachment for the others", async () => {
    const { edit } = await editor();
    expect(() => edit.planRestore(head({ text: "now" }), { extension: "only" })).toThrow(UnprocessableError);
    const image = typed(1, { attachment: picture, text: "new description" });
    expect(edit.planRestore(image, { attachment: { ...picture, w: 2 } }).send).toEqual({
      text: "",
      extension: "",
      attachment: { ...picture, w: 2 },
    });
    expect(() => edit.planRestore(image, { text: "old" })).toThrow(/attachment/);
    expect(() => edit.planRestore(image, { attachment: picture, text: "d".repeat(501) })).toThrow(/500/);
  });

  it("refuses content over Yunxin's limits with 422 before sending", async () => {
    const { edit } = await editor();
    expect(() => edit.plan(head(), edit.parseChange({ text: "x".repeat(5001) }))).toThrow(UnprocessableError);
    expect(() => edit.plan(head(), edit.parseChange({ extension: "x".repeat(1025) }))).toThrow(
      UnprocessableError,
    );
    expect(() => edit.plan(head(), edit.parseChange({ attachment: { a: "x".repeat(5000) } }))).toThrow(
      UnprocessableError,
    );
    expect(() => edit.parseChange({ MsgBody: [] })).toThrow(BadRequestError);
    expect(() => edit.parseChange({ operator: "x" })).toThrow(BadRequestError);
  });

  it("refuses messages older than the edit window with 409", async () => {
    const { edit } = await editor();
    expect(() => edit.checkEditable(head({}, Date.now() - 7 * 86_400_000), new Date())).toThrow(
      ConflictError,
    );
    expect(() => edit.checkEditable(head(), new Date())).not.toThrow();
  });

  it("restores every field and refuses a raw (non-JSON) attachment", async () => {
    const { edit } = await editor();
    expect(edit.planRestore(head({ text: "now", extension: "e" }), { text: "then" }).send).toEqual({
      text: "then",
      extension: "",
    });
    expect(edit.notRestorable({ attachmentRaw: "thisisattach" })).toMatch(/not JSON/);
  });

  it("reads a message back, and says gone (null) on 404", async () => {
    const { edit, server } = await editor([
      { json: { code: 200, msg: "success", data: { text: "now", extension: "", message_server_id: 1 } } },
      { json: { code: 404, msg: "not found", data: {} } },
    ]);
    expect(await edit.readBack(head(), Date.now() + 2_000)).toEqual({ text: "now" });
    expect(await edit.readBack(head(), Date.now() + 2_000)).toBeNull();
    expect(server.received[0]?.url.pathname).toBe(
      `/nimserver/im/v2.1/conversations/alice%7C1%7Cbob/messages/${BIG_ID}`,
    );
    expect(server.received[0]?.method).toBe("GET");
  });
});
