import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteStore } from "../../../functions/adapters/sqlite/store.ts";
import { InProcessWorkQueue } from "../../../functions/adapters/work/in-process.ts";
import { DEFAULT_EDIT_OPTIONS } from "../../../functions/core/edit-settlement.ts";
import { EditService } from "../../../functions/core/edits.ts";
import { ListingDisabledError } from "../../../functions/core/errors.ts";
import { DEFAULT_JOB_OPTIONS } from "../../../functions/core/jobs/context.ts";
import type { JobSelector } from "../../../functions/core/jobs/model.ts";
import { jobRules } from "../../../functions/core/jobs/rules.ts";
import { JobService } from "../../../functions/core/jobs/service.ts";
import { systemClock } from "../../../functions/core/limiter.ts";
import {
  type Listing,
  type Listings,
  listingsValue,
  parseListings,
} from "../../../functions/core/listings.ts";
import type { ProviderName } from "../../../functions/core/model.ts";
import type { ProviderEditor } from "../../../functions/core/provider.ts";
import { MessageQueries } from "../../../functions/core/queries.ts";
import { RuleSet } from "../../../functions/core/rules/engine.ts";
import type { Store } from "../../../functions/core/store.ts";
import { tencentCodec } from "../../../functions/providers/tencent/codec.ts";
import { scriptedEditor } from "../../helpers/scripted-editor.ts";
import { APP_ID, tencentProvider } from "../../helpers/tencent.ts";

const listings = (...names: Listing[]): Listings => new Set(names);

describe("the LISTINGS value", () => {
  it("reads a comma list of conversation and app, or none, and writes it back in one order", () => {
    expect(listingsValue(parseListings("app,conversation") ?? listings())).toBe("conversation,app");
    expect(listingsValue(parseListings(" app ") ?? listings("conversation"))).toBe("app");
    expect(listingsValue(parseListings("none") ?? listings("app"))).toBe("none");
    for (const bad of ["", "sender", "none,app", "app,", "APP"]) expect(parseListings(bad)).toBeUndefined();
  });
});

/**
 * Work that needs a listing the deployment does not keep is refused by the core, before the store is
 * asked anything: a typed error (400 `listing_disabled` over HTTP) naming the listing and the setting.
 */
describe("a disabled listing is refused before the store", () => {
  let sqlite: SqliteStore;
  let work: InProcessWorkQueue;
  /** Every store method called, by name. */
  let calls: string[];
  let store: Store;

  beforeEach(() => {
    sqlite = new SqliteStore({ path: ":memory:" });
    work = new InProcessWorkQueue();
    calls = [];
    store = new Proxy(sqlite, {
      get(target, name, receiver) {
        const value: unknown = Reflect.get(target, name, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          calls.push(String(name));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  });
  afterEach(async () => {
    await work.close();
    sqlite.close();
  });

  const queries = (kept: Listings) =>
    new MessageQueries(store, new Map([["tencent", tencentProvider()]]), kept);

  async function refusal(act: () => Promise<unknown>): Promise<ListingDisabledError> {
    const thrown = await act().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(thrown).toBeInstanceOf(ListingDisabledError);
    expect(calls).toEqual([]);
    return thrown as ListingDisabledError;
  }

  const page = { provider: "tencent" as const, appId: APP_ID, limit: 10 };

  it("a conversation's list needs the conversation listing (a sender filter inside it too)", async () => {
    // Act
    const error = await refusal(() => queries(listings("app")).list({ ...page, conversation: "c2c:a:b" }));
    await refusal(() => queries(listings()).list({ ...page, conversation: "c2c:a:b", sender: "a" }));

    // Assess
    expect(error.code).toBe("listing_disabled");
    expect(error.details).toEqual({ listing: "conversation", listings: "app" });
    expect(error.message).toBe(
      "Listing a conversation needs the conversation listing, which is off (LISTINGS=app). Turn it on with " +
        "-c listings=conversation,app in AWS (then npm run reindex for the messages recorded before) or " +
        "LISTINGS=conversation,app locally.",
    );
  });

  it("the whole app and a sender alone need the app listing", async () => {
    const whole = await refusal(() => queries(listings("conversation")).list(page));
    await refusal(() => queries(listings("conversation")).list({ ...page, sender: "alice" }));
    expect(whole.details).toEqual({ listing: "app", listings: "conversation" });
    expect(whole.message).toMatch(/^Listing a whole app or one sender needs the app listing, which is off/);
  });

  it("a partial natural key needs the app listing; the message says the whole key still works", async () => {
    // Act
    const error = await refusal(() =>
      queries(listings("conversation")).lookup("tencent", APP_ID, { msgKey: "1_2_1767225600" }),
    );
    await refusal(() =>
      queries(listings()).lookup("tencent", APP_ID, { msgKey: "1_2_1767225600", from: "alice" }),
    );

    // Assess
    expect(error.message).toMatch(/^Finding a message by a partial natural key needs the app listing/);
    expect(error.message).toMatch(/LISTINGS=conversation,app locally\. The whole natural key still works/);
  });

  it("whole natural keys, ids and allowed listings still reach the store", async () => {
    // Prepare
    const none = queries(listings());
    const conversation = queries(listings("conversation"));

    // Act
    const whole = none.lookup("tencent", APP_ID, { msgKey: "1_2_1767225600", from: "a", to: "b" });
    const group = none.lookup("tencent", APP_ID, { groupId: "@TGS#1", msgSeq: "7" });
    const byId = none.get("c2c_aaaaaaaaaaaaaaaaaaaaaaaaaa");

    // Assess: 404s, after a read by id
    await expect(whole).rejects.toMatchObject({ code: "not_found" });
    await expect(group).rejects.toMatchObject({ code: "not_found" });
    await expect(byId).rejects.toMatchObject({ code: "not_found" });
    expect(calls).toEqual(["getHead", "getHead", "getHead"]);
    await expect(conversation.list({ ...page, conversation: "c2c:a:b", sender: "a" })).resolves.toEqual({
      items: [],
    });
    expect(calls.at(-1)).toBe("list");
  });

  describe("bulk jobs", () => {
    const jobs = (kept: Listings) => {
      const editors = new Map<ProviderName, ProviderEditor>([["tencent", scriptedEditor()]]);
      const read = queries(kept);
      return new JobService({
        store,
        queries: read,
        edits: new EditService(store, editors, read, DEFAULT_EDIT_OPTIONS),
        editors,
        codecOf: () => tencentCodec,
        rules: jobRules({ current: () => RuleSet.EMPTY }),
        work,
        clock: systemClock,
        options: DEFAULT_JOB_OPTIONS,
      });
    };
    const create = (kept: Listings, selector: Partial<JobSelector>) =>
      jobs(kept).createEdit({
        selector: { provider: "tencent", appId: APP_ID, ...selector },
        work: { edit: { CloudCustomData: "x" } },
        dryRun: true,
        actor: "t",
      });

    it("a selector whose listing is off is refused at creation: no job exists", async () => {
      const bySender = await refusal(() => create(listings("conversation"), { sender: "alice" }));
      await refusal(() => create(listings("conversation"), {}));
      const byConversation = await refusal(() => create(listings("app"), { conversation: "c2c:a:b" }));
      expect(bySender.message).toMatch(
        /^A bulk job whose selector names no conversation .* needs the app listing/,
      );
      expect(byConversation.message).toMatch(
        /^A bulk job on one conversation needs the conversation listing/,
      );
    });

    it("resuming a job whose listing was turned off since is refused before it is queued again", async () => {
      const job = await create(listings("conversation", "app"), { sender: "alice" });
      calls.length = 0;
      const resumed = await jobs(listings("conversation"))
        .resume(job.id)
        .catch((error: unknown) => error);
      expect(resumed).toBeInstanceOf(ListingDisabledError);
      expect((resumed as Error).message).toMatch(/needs the app listing/);
      // It read the job to know its selector, and wrote nothing.
      expect(calls).toEqual(["getJob"]);
    });

    it("a selector on a kept listing is created", async () => {
      const job = await create(listings("conversation"), { conversation: "c2c:a:b", sender: "alice" });
      expect(job.status).toBe("queued");
      expect(calls).toContain("createJob");
    });
  });
});
