import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SqliteStore } from "../../../functions/adapters/sqlite/store.ts";
import { DEFAULT_EDIT_OPTIONS } from "../../../functions/core/edit-settlement.ts";
import { EditService } from "../../../functions/core/edits.ts";
import {
  ConflictError,
  OutcomeUnknownError,
  ProviderUnavailableError,
  StoreUnavailableError,
  UnprocessableError,
} from "../../../functions/core/errors.ts";
import { type Content, contentHash, type MessageHead, messageId } from "../../../functions/core/model.ts";
import type { ProviderEditor } from "../../../functions/core/provider.ts";
import { MessageQueries } from "../../../functions/core/queries.ts";
import { Recorder } from "../../../functions/core/recorder.ts";
import { manualClock } from "../../helpers/clock.ts";
import { c2cHead } from "../../helpers/heads.ts";
import { scriptedEditor } from "../../helpers/scripted-editor.ts";
import { tencentProvider } from "../../helpers/tencent.ts";

describe("EditService protocol (virtual clock, embedded store)", () => {
  const dir = mkdtempSync(join(tmpdir(), "im-edit-edits-"));
  let store: SqliteStore;
  let clock: ReturnType<typeof manualClock>;
  beforeAll(() => {
    store = new SqliteStore({ path: join(dir, "edits.sqlite") });
  });
  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    clock = manualClock();
  });

  async function message(content: Content = { CloudCustomData: "v1" }): Promise<MessageHead> {
    const id = messageId("c2c", [randomUUID()]);
    const head = c2cHead(content, { id });
    await store.putHead(head, undefined);
    return head;
  }

  const service = (editor: ProviderEditor, scheduled: string[] = [], on: SqliteStore = store) =>
    new EditService(
      on,
      new Map([["tencent", editor]]),
      new MessageQueries(on, new Map([["tencent", tencentProvider()]])),
      {
        ...DEFAULT_EDIT_OPTIONS,
        clock,
        scheduleResolve: (id) => {
          scheduled.push(id);
        },
      },
    );

  /** The store with one write failing while `down()` says so: an outage in the middle of the protocol. */
  function failing(
    methods: readonly ("putVersion" | "putHead" | "commitEdit")[],
    down: () => boolean,
  ): SqliteStore {
    const flaky = Object.create(store) as SqliteStore;
    for (const method of methods) {
      const original = (store[method] as (...a: unknown[]) => Promise<unknown>).bind(store);
      Object.assign(flaky, {
        [method]: async (...args: unknown[]) => {
          if (down()) throw new StoreUnavailableError("down");
          return original(...args);
        },
      });
    }
    return flaky;
  }

  it("waits for a held lease up to the wait budget, then 409 without calling the provider", async () => {
    const head = await message();
    const editor = scriptedEditor({});
    await store.acquireLease(head.id, { owner: "someone-else", until: clock.now() + 60_000 }, clock.now());
    const started = clock.now();
    const error = await service(editor)
      .edit(head.id, { CloudCustomData: "v2" }, { actor: "t" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).code).toBe("lease_held");
    expect(clock.now() - started).toBeGreaterThanOrEqual(DEFAULT_EDIT_OPTIONS.waitBudgetMs - 250);
    expect(editor.modifies).toEqual([]);
  });

  it("counts an echo that arrives before the provider's answer as our own: one version", async () => {
    const head = await message();
    let edits: EditService | undefined;
    const editor = scriptedEditor({
      modify: async (send) => {
        const echo = {
          type: "modified" as const,
          message: { ...head, sentAt: head.createdAt },
          content: send,
          actor: "administrator",
          at: "",
        };
        // The recorder hands the matcher the head it just read: the intent travels in it.
        const current = await store.getHead(head.id);
        expect(current && (await edits?.echoMatcher(() => "administrator").isOwnEcho(echo, current))).toBe(
          true,
        );
      },
    });
    edits = service(editor);
    const result = await edits.edit(head.id, { CloudCustomData: "v2" }, { actor: "t" });
    expect(result.head.version).toBe(2);
    expect((await store.listVersions(head.id, { limit: 20 })).items.map((v) => v.source)).toEqual([
      "callback",
      "api",
    ]);
  });

  it("reports a lost call that a read-back shows unapplied as 503 and frees the message", async () => {
    const head = await message();
    const editor = scriptedEditor({
      modify: async () => {
        throw new OutcomeUnknownError("lost");
      },
      readBack: async () => ({ CloudCustomData: "v1" }),
    });
    await expect(service(editor).edit(head.id, { CloudCustomData: "v2" }, { actor: "t" })).rejects.toThrow(
      ProviderUnavailableError,
    );
    expect((await store.getHead(head.id))?.intent).toBeUndefined();
    expect(await store.acquireLease(head.id, { owner: "next", until: clock.now() + 1000 }, clock.now())).toBe(
      true,
    );
  });

  it("keeps an unresolvable edit locked (504), then a later read-back settles it as applied", async () => {
    const head = await message();
    let provider: Content = { CloudCustomData: "v1" };
    let reachable = false;
    const scheduled: string[] = [];
    const editor = scriptedEditor({
      modify: async (send) => {
        provider = { ...provider, ...send };
        throw new OutcomeUnknownError("lost");
      },
      readBack: async () => {
        if (!reachable) throw new ProviderUnavailableError("down");
        return provider;
      },
    });
    const edits = service(editor, scheduled);
    await expect(edits.edit(head.id, { CloudCustomData: "v2" }, { actor: "t" })).rejects.toThrow(
      OutcomeUnknownError,
    );
    expect(scheduled).toEqual([head.id]);
    expect(await store.acquireLease(head.id, { owner: "next", until: clock.now() + 1000 }, clock.now())).toBe(
      false,
    );
    reachable = true;
    expect(await edits.resolve(head.id)).toBe("applied");
    expect((await store.getHead(head.id))?.content).toEqual({ CloudCustomData: "v2" });
    expect(await store.acquireLease(head.id, { owner: "next", until: clock.now() + 1000 }, clock.now())).toBe(
      true,
    );
  });

  it("settles the open intent of a crashed editor before the next edit, once its lease expired", async () => {
    const head = await message();
    await store.acquireLease(head.id, { owner: "crashed", until: clock.now() + 1_000 }, clock.now());
    await store.putIntent(head.id, {
      intentId: "i1",
      leaseOwner: "crashed",
      baseVersion: 1,
      baseContent: { CloudCustomData: "v1" },
      content: { CloudCustomData: "crashed-edit" },
      changed: { CloudCustomData: "crashed-edit" },
      contentHash: contentHash({ CloudCustomData: "crashed-edit" }),
      source: "api",
      actor: "t",
      state: "open",
      createdAt: new Date(clock.now()).toISOString(),
      deadline: clock.now() + 1_000,
    });
    clock.advance(2_000);
    const editor = scriptedEditor({ readBack: async () => ({ CloudCustomData: "crashed-edit" }) });
    const result = await service(editor).edit(head.id, { CloudCustomData: "v3" }, { actor: "t" });
    expect(result.head.version).toBe(3);
    const history = (await store.listVersions(head.id, { limit: 20 })).items;
    expect(history.map((v) => v.content)).toEqual([
      { CloudCustomData: "v1" },
      { CloudCustomData: "crashed-edit" },
      { CloudCustomData: "v3" },
    ]);
  });

  it("forgets an Idempotency-Key after its window", async () => {
    const head = await message();
    const editor = scriptedEditor({});
    const edits = service(editor);
    const key = randomUUID();
    await edits.edit(head.id, { CloudCustomData: "v2" }, { actor: "t", idempotencyKey: key });
    await edits.edit(head.id, { CloudCustomData: "v2" }, { actor: "t", idempotencyKey: key });
    expect(editor.modifies).toHaveLength(1);
    clock.advance(DEFAULT_EDIT_OPTIONS.idempotencyTtlMs + 1);
    await edits.edit(head.id, { CloudCustomData: "v3" }, { actor: "t", idempotencyKey: key });
    expect(editor.modifies).toHaveLength(2);
  });

  describe("regressions found in review", () => {
    const echoOf = (head: MessageHead, content: Content, actor = "administrator") => ({
      type: "modified" as const,
      message: { ...head, sentAt: head.createdAt },
      content,
      actor,
      at: new Date(clock.now()).toISOString(),
    });
    const recorderFor = (edits: EditService) =>
      new Recorder(
        store,
        () => new Date(clock.now()),
        edits.echoMatcher(() => "administrator"),
      );

    it("keeps our applied edit when an older client edit's callback arrives after it (provider order)", async () => {
      const head = await message({ text: "A" });
      const edits = service(scriptedEditor({}));
      await edits.edit(head.id, { text: "B" }, { actor: "t" });
      const late = {
        ...echoOf(head, { text: "C" }, "someone"),
        eventAt: clock.now() - 1_000,
        eventKey: "late",
      };
      expect(await recorderFor(edits).apply(late)).toBe("updated");
      expect(await store.getHead(head.id)).toMatchObject({ version: 3, content: { text: "B" } });
      const versions = (await store.listVersions(head.id, { limit: 20 })).items;
      expect(versions.map((v) => [v.source, v.stale ?? false])).toEqual([
        ["callback", false],
        ["api", false],
        ["client", true],
      ]);
    });

    it("gives up on an edit whose outcome no read-back can tell, once well past its deadline", async () => {
      const head = await message({ text: "A", CloudCustomData: "v1" });
      const editor = scriptedEditor({
        modify: async (send) => {
          if (send.CloudCustomData === "v2") throw new OutcomeUnknownError("lost");
        },
        readBack: async () => ({ text: "A" }), // history without CloudCustomData cannot decide
      });
      const edits = service(editor);
      await expect(edits.edit(head.id, { CloudCustomData: "v2" }, { actor: "t" })).rejects.toThrow(
        OutcomeUnknownError,
      );
      clock.advance(DEFAULT_EDIT_OPTIONS.resolveWindowMs + DEFAULT_EDIT_OPTIONS.echoGraceMs + 1);
      const next = await edits.edit(head.id, { CloudCustomData: "v3" }, { actor: "t" });
      expect(next.head.content).toEqual({ text: "A", CloudCustomData: "v3" });
    });

    it("records a later event equal to our applied edit once someone else changed the message", async () => {
      const head = await message({ text: "A" });
      const edits = service(scriptedEditor({}));
      await edits.edit(head.id, { text: "B" }, { actor: "t" });
      const recorder = recorderFor(edits);
      clock.advance(10 * 60_000);
      expect(await recorder.apply(echoOf(head, { text: "A" }, "someone"))).toBe("updated");
      clock.advance(24 * 3600_000);
      expect(await recorder.apply(echoOf(head, { text: "B" }))).toBe("updated"); // someone changed it back, later
      expect((await store.getHead(head.id))?.content).toEqual({ text: "B" });
    });

    it("counts an edit as applied when its echo came before a refusal only if a read-back shows it", async () => {
      const head = await message({ text: "A" });
      let edits: EditService | undefined;
      const editor = scriptedEditor({
        modify: async (send) => {
          if (edits) await recorderFor(edits).apply(echoOf(head, send));
          throw new ProviderUnavailableError("kept failing");
        },
        readBack: async () => ({ text: "B" }),
      });
      edits = service(editor);
      const result = await edits.edit(head.id, { text: "B" }, { actor: "t" });
      expect(result.head).toMatchObject({ version: 2, content: { text: "B" } });
    });

    it("never turns an explicit refusal into applied on a forged or replayed echo alone", async () => {
      const head = await message({ text: "A" });
      let edits: EditService | undefined;
      const editor = scriptedEditor({
        modify: async (send) => {
          // An after-modify inside the signature window that matches our intent, but Tencent refuses.
          if (edits) await recorderFor(edits).apply(echoOf(head, send));
          throw new UnprocessableError("Tencent refused the content", { providerCode: 80001 });
        },
        readBack: async () => ({ text: "A" }),
      });
      edits = service(editor);
      await expect(edits.edit(head.id, { text: "B" }, { actor: "t" })).rejects.toThrow(UnprocessableError);
      expect(await store.getHead(head.id)).toMatchObject({ version: 1, content: { text: "A" } });
      expect((await store.getHead(head.id))?.intent).toBeUndefined();
      // The message is free for the next edit.
      expect(
        await store.acquireLease(head.id, { owner: "next", until: clock.now() + 1000 }, clock.now()),
      ).toBe(true);
    });

    it("holds an Idempotency-Key whose edit ended unknown (504): another body 422; settled, it replays", async () => {
      const head = await message({ text: "A" });
      let provider: Content = { text: "A" };
      let reachable = false;
      const editor = scriptedEditor({
        modify: async (send) => {
          provider = { ...provider, ...send };
          throw new OutcomeUnknownError("lost");
        },
        readBack: async () => {
          if (!reachable) throw new ProviderUnavailableError("down");
          return provider;
        },
      });
      const edits = service(editor);
      const key = `k-${randomUUID()}`;
      await expect(edits.edit(head.id, { text: "B" }, { actor: "t", idempotencyKey: key })).rejects.toThrow(
        OutcomeUnknownError,
      );
      const other = await edits
        .edit(head.id, { text: "C" }, { actor: "t", idempotencyKey: key })
        .catch((e: unknown) => e);
      expect(other).toBeInstanceOf(UnprocessableError);
      expect((other as UnprocessableError).code).toBe("idempotency_mismatch");
      reachable = true;
      expect(await edits.resolve(head.id)).toBe("applied");
      const replay = await edits.edit(head.id, { text: "B" }, { actor: "t", idempotencyKey: key });
      expect(replay.head).toMatchObject({ version: 2, content: { text: "B" } });
      expect(editor.modifies).toHaveLength(1);
    });

    it("frees an Idempotency-Key once its unknown edit is settled as not applied", async () => {
      const head = await message({ text: "A" });
      let reachable = false;
      const editor = scriptedEditor({
        modify: async () => {
          throw new OutcomeUnknownError("lost");
        },
        readBack: async () => {
          if (!reachable) throw new ProviderUnavailableError("down");
          return { text: "A" };
        },
      });
      const edits = service(editor);
      const key = `k-${randomUUID()}`;
      await expect(edits.edit(head.id, { text: "B" }, { actor: "t", idempotencyKey: key })).rejects.toThrow(
        OutcomeUnknownError,
      );
      reachable = true;
      expect(await edits.resolve(head.id)).toBe("not-applied");
      expect(await store.getIdempotencyRecord(key, clock.now())).toBeUndefined();
    });

    it("keeps the intent when the provider applied but the version could not be written: 504, then resolved", async () => {
      const head = await message({ text: "A" });
      let failWrites = false;
      const flaky = failing(["putVersion"], () => failWrites);
      const editor = scriptedEditor({
        modify: async () => {
          failWrites = true;
        },
        readBack: async () => ({ text: "B" }),
      });
      const edits = service(editor, [], flaky);
      await expect(edits.edit(head.id, { text: "B" }, { actor: "t" })).rejects.toThrow(OutcomeUnknownError);
      failWrites = false;
      expect(await edits.resolve(head.id)).toBe("applied");
      expect((await store.getHead(head.id))?.content).toEqual({ text: "B" });
    });

    it("reports applied when the echo settles the edit while a stale read-back says otherwise", async () => {
      const head = await message({ text: "A" });
      let edits: EditService | undefined;
      let sent: Content = {};
      const editor = scriptedEditor({
        modify: async (send) => {
          sent = send;
          throw new OutcomeUnknownError("lost");
        },
        readBack: async () => {
          if (edits) await recorderFor(edits).apply(echoOf(head, sent));
          return { text: "A" };
        },
      });
      edits = service(editor);
      const result = await edits.edit(head.id, { text: "B" }, { actor: "t" });
      expect(result.head).toMatchObject({ version: 2, content: { text: "B" } });
    });

    it("does not let a late echo of an earlier edit of ours roll the message back", async () => {
      const head = await message({ text: "A" });
      const edits = service(scriptedEditor({}));
      await edits.edit(head.id, { text: "B" }, { actor: "t" });
      clock.advance(2_000);
      await edits.edit(head.id, { text: "C" }, { actor: "t" });
      const recorder = recorderFor(edits);
      expect(await recorder.apply(echoOf(head, { text: "C" }))).toBe("duplicate");
      expect(await recorder.apply(echoOf(head, { text: "B" }))).toBe("duplicate");
      expect(await store.getHead(head.id)).toMatchObject({ version: 3, content: { text: "C" } });
    });

    it("lays a partial edit over a version someone else wrote during the call", async () => {
      const text = (value: string) => [{ MsgType: "TIMTextElem", MsgContent: { Text: value } }];
      const head = await message({ MsgBody: text("old"), CloudCustomData: "c1" });
      let edits: EditService | undefined;
      const editor = scriptedEditor({
        modify: async () => {
          if (edits)
            await recorderFor(edits).apply(
              echoOf(head, { MsgBody: text("user fixed typo"), CloudCustomData: "c1" }, "jared"),
            );
        },
      });
      edits = service(editor);
      const result = await edits.edit(head.id, { CloudCustomData: "c2" }, { actor: "t" });
      expect(result.head).toMatchObject({
        version: 3,
        content: { MsgBody: text("user fixed typo"), CloudCustomData: "c2" },
      });
    });

    it("writes one version for one edit even when its head write failed and resolution commits again", async () => {
      const head = await message({ text: "A" });
      let failHeads = false;
      // The head write that ends the edit: commitEdit on the fast path, putHead on the general one.
      const flaky = failing(["commitEdit", "putHead"], () => failHeads);
      const editor = scriptedEditor({
        modify: async () => {
          failHeads = true;
        },
        readBack: async () => ({ text: "B" }),
      });
      const edits = service(editor, [], flaky);
      await expect(edits.edit(head.id, { text: "B" }, { actor: "t" })).rejects.toThrow(OutcomeUnknownError);
      failHeads = false;
      expect(await edits.resolve(head.id)).toBe("applied");
      const versions = (await store.listVersions(head.id, { limit: 20 })).items;
      expect(versions.map((v) => [v.version, v.content])).toEqual([
        [1, { text: "A" }],
        [2, { text: "B" }],
      ]);
      expect((await store.getHead(head.id))?.version).toBe(2);
    });

    it("never abandons an edit the provider confirmed, even when no read-back can tell", async () => {
      const head = await message({ text: "A" });
      let failVersions = false;
      const flaky = failing(["putVersion"], () => failVersions);
      const editor = scriptedEditor({
        modify: async () => {
          failVersions = true;
        },
        readBack: async () => undefined, // outside the history window
      });
      const edits = service(editor, [], flaky);
      await expect(edits.edit(head.id, { text: "B" }, { actor: "t" })).rejects.toThrow(OutcomeUnknownError);
      failVersions = false;
      clock.advance(DEFAULT_EDIT_OPTIONS.resolveWindowMs + DEFAULT_EDIT_OPTIONS.echoGraceMs + 1);
      expect(await edits.resolve(head.id)).toBe("applied");
      expect((await store.getHead(head.id))?.content).toEqual({ text: "B" });
    });

    it("keeps a purged edit's Idempotency-Key used: a replay neither calls again nor shows purged content", async () => {
      const head = await message({ text: "secret" });
      const editor = scriptedEditor({});
      const edits = service(editor);
      await edits.edit(head.id, { text: "oops" }, { actor: "t", idempotencyKey: "k-purge" });
      await edits.edit(head.id, { text: "clean" }, { actor: "t" });
      await edits.purge(head.id, "GDPR", "dpo");
      const replay = await edits.edit(head.id, { text: "oops" }, { actor: "t", idempotencyKey: "k-purge" });
      expect(editor.modifies).toHaveLength(2);
      expect(JSON.stringify(replay)).not.toContain("oops");
      expect(replay.head.content).toEqual({ text: "clean" });
    });

    it("records a genuine edit back to one of our versions once someone else edited in between", async () => {
      const head = await message({ text: "A" });
      const edits = service(scriptedEditor({}));
      await edits.edit(head.id, { text: "B" }, { actor: "t" });
      const recorder = recorderFor(edits);
      expect(await recorder.apply(echoOf(head, { text: "B" }))).toBe("duplicate"); // our echo, once
      expect(await recorder.apply(echoOf(head, { text: "X" }))).toBe("updated"); // the console, as admin
      expect(await recorder.apply(echoOf(head, { text: "B" }))).toBe("updated"); // and back
      expect((await store.getHead(head.id))?.content).toEqual({ text: "B" });
    });

    it("does not let a late copy of an earlier edit roll back a provider that copies whole messages", async () => {
      const head = await message({ text: "a" });
      const edits = service(scriptedEditor({}));
      await edits.edit(head.id, { text: "b" }, { actor: "t" });
      clock.advance(2_000);
      await edits.edit(head.id, { text: "c", extension: "x" }, { actor: "t" });
      const recorder = new Recorder(
        store,
        () => new Date(clock.now()),
        edits.echoMatcher(() => undefined),
      );
      const copy = (content: Content) => ({
        type: "observed" as const,
        message: { ...head, sentAt: head.createdAt },
        content,
        at: "t",
      });
      expect(await recorder.apply(copy({ text: "c", extension: "x" }))).toBe("duplicate");
      expect(await recorder.apply(copy({ text: "b" }))).toBe("duplicate");
      expect((await store.getHead(head.id))?.content).toEqual({ text: "c", extension: "x" });
    });
  });
});
