import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { BadRequestError, ConflictError, UnprocessableError } from "../../../../functions/core/errors.ts";
import { SlidingWindowLimiter } from "../../../../functions/core/limiter.ts";
import type { MessageHead } from "../../../../functions/core/model.ts";
import { createNeteaseEditor } from "../../../../functions/providers/netease/editor.ts";
import { NeteaseRestClient } from "../../../../functions/providers/netease/rest.ts";
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

const ok = { json: { code: 200, msg: "success", data: {} } };

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
    [414, "checksum check failed", "provider_rejected", 502],
    [414, "text too long", "content_refused", 422],
    [404, "not found", "not_found", 404],
    [403, "no permission", "not_permitted", 409],
  ])("maps code %i (%s) to %s", async (code, msg, expectedCode, status) => {
    const { edit } = await editor([{ json: { code, msg, data: {} } }]);
    const error = await edit.modify(head(), { text: "x" }, Date.now() + 2_000).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: expectedCode, status, providerCode: code });
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
