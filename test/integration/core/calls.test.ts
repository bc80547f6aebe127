import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_EDIT_OPTIONS } from "../../../functions/core/edit-settlement.ts";
import { EditService } from "../../../functions/core/edits.ts";
import { type Content, messageId, type ObservedMessage } from "../../../functions/core/model.ts";
import { MessageQueries } from "../../../functions/core/queries.ts";
import { Recorder } from "../../../functions/core/recorder.ts";
import type { Store } from "../../../functions/core/store.ts";
import { countingStore } from "../../helpers/counting-store.ts";
import { scriptedEditor } from "../../helpers/scripted-editor.ts";
import { CONTRACT_TARGETS, type RunningTarget } from "../../helpers/store-targets.ts";
import { tencentProvider } from "../../helpers/tencent.ts";

const OPERATOR = "administrator";

function observed(): ObservedMessage {
  const msgKey = `${Math.floor(Math.random() * 1e6)}_2_1769770000`;
  return {
    id: messageId("c2c", ["tencent", "1400000000", "c2c", "a", "b", msgKey]),
    provider: "tencent",
    appId: "1400000000",
    kind: "c2c",
    key: { from: "a", to: "b", msgKey },
    conversation: "c2c:a:b",
    sender: "a",
    lookupKey: `c2c|${msgKey}`,
    sentAt: "2026-06-01T00:00:00.000Z",
  };
}

const text = (value: string): Content => ({
  MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: value } }],
});

/**
 * The per-operation call budgets of ARCHITECTURE.md "Storage rules", counted through the port on every
 * adapter: a recorded message 1 call (its redelivery 1), an edit with its echo 6 in all.
 */
describe.each(CONTRACT_TARGETS)("store calls per operation on $name", (target) => {
  let running: RunningTarget;
  let store: Store;
  beforeAll(async () => {
    running = await target.start();
    store = await running.store();
  });
  afterAll(async () => {
    await running.close();
  });

  it("records a new message in one call, and its redelivery in one", async () => {
    const counted = countingStore(store);
    const recorder = new Recorder(counted.store);
    const sent = { type: "sent" as const, message: observed(), content: text("hi"), eventKey: randomUUID() };
    expect(await recorder.apply(sent)).toBe("created");
    expect(Object.fromEntries(counted.calls)).toEqual({ createHead: 1 });
    counted.reset();
    expect(await recorder.apply(sent)).toBe("duplicate");
    expect(counted.total()).toBe(1);
  });

  it("edits a message, echo included, in six calls", async () => {
    const counted = countingStore(store);
    const message = observed();
    await new Recorder(store).apply({ type: "sent", message, content: text("hi"), eventKey: randomUUID() });
    let recorder: Recorder | undefined;
    // The provider's after-modify reaches the recorder before its HTTP answer reaches the editor.
    const editor = scriptedEditor({
      modify: async (send) => {
        await recorder?.apply({
          type: "modified",
          message,
          content: send,
          actor: OPERATOR,
          at: new Date().toISOString(),
          eventAt: Date.now(),
          eventKey: randomUUID(),
        });
      },
    });
    const queries = new MessageQueries(counted.store, new Map([["tencent", tencentProvider()]]));
    const edits = new EditService(
      counted.store,
      new Map([["tencent", editor]]),
      queries,
      DEFAULT_EDIT_OPTIONS,
    );
    recorder = new Recorder(
      counted.store,
      undefined,
      edits.echoMatcher(() => OPERATOR),
    );
    const result = await edits.edit(message.id, text("edited"), { actor: "moderator" });
    expect(result.head).toMatchObject({ version: 2, content: text("edited") });
    expect(Object.fromEntries(counted.calls)).toEqual({
      getHead: 2, // the editor's read, the recorder's read of the echo
      beginEdit: 1,
      updateIntent: 1, // the echo confirms the intent
      putVersion: 1,
      commitEdit: 1,
    });
    const versions = await store.listVersions(message.id, { limit: 10 });
    expect(versions.items.map((v) => [v.version, v.source])).toEqual([
      [1, "callback"],
      [2, "api"],
    ]);
    const head = await store.getHead(message.id);
    expect(head?.lease).toBeUndefined();
    expect(head?.intent?.state).toBe("applied");
  });
});
