import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseOperation, perform } from "../../../functions/api/operations.ts";
import { PROVIDER_NAMES } from "../../../functions/core/model.ts";
import type { LocalStack } from "../../../local/stack.ts";
import {
  createFakeProvider,
  FAKE,
  FAKE_OPERATOR,
  fakeCodec,
  fakeId,
} from "../../helpers/fake-provider/manifest.ts";
import { send } from "../../helpers/http.ts";
import { api, startTestStack } from "../../helpers/stack.ts";

interface Record {
  id: string;
  provider: string;
  version: number;
  content: { text?: string; data?: string };
}
interface Versions {
  items: { version: number; source: string; content: Record["content"] }[];
}

/**
 * A provider registered from test/ only (test/helpers/fake-provider): its manifest joins config, the
 * registries and the routes, its simulator (an in-memory remote) starts with the local stack. Through
 * the real server over HTTP: callback → record → GET → PATCH (the fake modify and its echo) → versions
 * → restore.
 */
describe("a test-only provider through the local stack", () => {
  const fake = createFakeProvider();
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startTestStack({
      providers: [{ manifest: fake.manifest, simulator: fake.simulator }],
      tencentSimulator: false,
      neteaseSimulator: false,
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("is no built-in provider, and is configured from its manifest alone", () => {
    expect((PROVIDER_NAMES as readonly string[]).includes(FAKE)).toBe(false);
    expect(stack.config.providers.get(FAKE)?.appId).toBe("fake-app");
    expect(stack.deps.providers.has(FAKE)).toBe(true);
    expect(stack.deps.editors.has(FAKE)).toBe(true);
    expect(stack.simulators.get(FAKE)).toBe(fake.remote);
  });

  it("refuses a callback with a bad signature (401) or for another app (403)", async () => {
    const raw = JSON.stringify({
      app: "fake-app",
      type: "message.sent",
      id: "x",
      from: "a",
      to: "b",
      text: "t",
      at: 1,
    });
    expect(await fake.remote.post(raw, "not-the-secret")).toBe(401);
    expect(await fake.remote.post(raw.replace("fake-app", "other-app"))).toBe(403);
  });

  it("records, edits (modify + echo), lists versions and restores", async () => {
    // Act: a user sends a message; the provider calls back.
    const sent = await fake.remote.send("alice", "bob", "hello", JSON.stringify({ lang: "en" }));
    expect(sent.status).toBe(200);
    const id = fakeId("fake-app", sent.id);

    // Assess: recorded, listed under its provider and app, found by its natural key.
    expect(id).toMatch(/^fk_[a-z2-7]{26}$/);
    const listed = await api(stack.url, "/v1/messages?provider=fake&appId=fake-app");
    expect(listed.status).toBe(200);
    expect((listed.body as { items: Record[] }).items.map((item) => item.id)).toContain(id);
    const byKey = await api(stack.url, `/v1/messages?provider=fake&appId=fake-app&msgId=${sent.id}`);
    expect(byKey.status).toBe(200);
    expect(byKey.body).toMatchObject({ id, provider: "fake", version: 1 });
    const recorded = await api(stack.url, `/v1/messages/${id}`);
    expect(recorded.status).toBe(200);
    expect(recorded.body).toMatchObject({
      provider: "fake",
      appId: "fake-app",
      kind: "c2c",
      sender: "alice",
      state: "sent",
      version: 1,
      editable: true,
      content: { text: "hello", data: '{"lang":"en"}' },
    });
    expect(fakeCodec.customData((recorded.body as Record).content)).toEqual({ lang: "en" });

    // Act: edit the text through the API.
    const edited = await send(
      stack.url,
      "PATCH",
      `/v1/messages/${id}`,
      { text: "hello, edited" },
      { "if-match": '"1"' },
    );

    // Assess: the remote was modified, its echo recognized as our own edit (no extra version).
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({
      version: 2,
      content: { text: "hello, edited", data: '{"lang":"en"}' },
    });
    expect(fake.remote.modifies).toEqual([
      { id: sent.id, send: { text: "hello, edited" }, by: FAKE_OPERATOR },
    ]);
    expect(await fake.remote.settled()).toEqual([200]);
    const afterEcho = await api(stack.url, `/v1/messages/${id}/versions`);
    expect((afterEcho.body as Versions).items.map((v) => [v.version, v.source])).toEqual([
      [1, "callback"],
      [2, "api"],
    ]);

    // Act: restore version 1.
    const restored = await send(stack.url, "POST", `/v1/messages/${id}/restore`, { version: 1 });

    // Assess: every field sent back, the remote holds version 1's content again, history has 3 versions.
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ version: 3, content: { text: "hello", data: '{"lang":"en"}' } });
    expect(fake.remote.modifies.at(-1)?.send).toEqual({ text: "hello", data: '{"lang":"en"}' });
    expect(fake.remote.messages.get(sent.id)).toMatchObject({ text: "hello", data: '{"lang":"en"}' });
    expect(await fake.remote.settled()).toEqual([200, 200]);
    const history = await api(stack.url, `/v1/messages/${id}/versions`);
    expect((history.body as Versions).items.map((v) => [v.version, v.source, v.content.text])).toEqual([
      [1, "callback", "hello"],
      [2, "api", "hello, edited"],
      [3, "restore", "hello"],
    ]);
    const head = await api(stack.url, `/v1/messages/${id}`);
    expect(head.body).toMatchObject({ version: 3, content: { text: "hello" } });
  });

  it("looks up by natural key through the API: unknown key 404, bad key 400, unconfigured provider 400", async () => {
    const missing = await api(stack.url, "/v1/messages?provider=fake&appId=fake-app&msgId=m-none");
    expect(missing.status).toBe(404);
    const malformed = await api(stack.url, "/v1/messages?provider=fake&appId=fake-app&msgId=a%20b");
    expect(malformed.status).toBe(400);
    // A provider-shaped name that is not registered: the queries answer, not the schema.
    const other = await api(stack.url, "/v1/messages?provider=wechat&appId=1");
    expect(other.status).toBe(400);
    expect(other.body).toMatchObject({ error: { code: "provider_not_configured" } });
    const notAName = await api(stack.url, "/v1/messages?provider=Fake!&appId=1");
    expect(notAName.body).toMatchObject({ error: { code: "validation_failed" } });
  });

  it("edits by natural key (PATCH /v1/messages?provider=fake&…)", async () => {
    const sent = await fake.remote.send("erin", "frank", "by key");
    const edited = await send(
      stack.url,
      "PATCH",
      `/v1/messages?provider=fake&appId=fake-app&msgId=${sent.id}`,
      { text: "by key, edited" },
    );
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ id: fakeId("fake-app", sent.id), version: 2 });
    expect(fake.remote.messages.get(sent.id)?.text).toBe("by key, edited");

    // The same target by key as a direct invoke or a queued operation takes it (operations.ts).
    const key = { provider: "fake", appId: "fake-app", msgId: sent.id };
    const history = await perform(stack.deps, parseOperation({ action: "versions", target: { key } }));
    expect(history).toMatchObject({ status: 200, body: { items: [{ version: 1 }, { version: 2 }] } });
  });

  it("an edit by someone else at the provider becomes a callback version", async () => {
    const sent = await fake.remote.send("carol", "dan", "first");
    const message = fake.remote.messages.get(sent.id);
    if (message) message.text = "changed at the provider";
    expect(await fake.remote.deliver({ type: "message.edited", id: sent.id, by: "carol" })).toBe(200);
    const found = await api(stack.url, `/v1/messages/${fakeId("fake-app", sent.id)}`);
    expect(found.body).toMatchObject({ version: 2, content: { text: "changed at the provider" } });
  });
});
