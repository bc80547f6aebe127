import { randomBytes } from "node:crypto";
import type { Locator, Page } from "playwright-core";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { neteaseApp } from "../helpers/netease-app.ts";
import { API_TOKEN, api } from "../helpers/stack.ts";
import { APP_ID } from "../helpers/tencent.ts";
import { tencentApp } from "../helpers/tencent-app.ts";
import { type ConsoleHarness, type ConsoleTab, STEP_MS, startConsole } from "./console.ts";

/**
 * The operator console end to end: headless Debian chromium on the console the local stack serves, the
 * real handlers behind it and both provider simulators. Controls are found by their accessible names
 * (issue 17's contract), never by CSS classes.
 */

interface VersionBody {
  readonly version: number;
  readonly source: string;
  readonly jobId?: string;
  readonly purged?: { readonly reason: string };
}

/** One provider call at a time per job, so the simulator's delays set a job's pace (the job test). */
const JOB_CONCURRENCY = "1";
/** How long each modify waits at the simulator while a job is watched: 30 of them take 9 s. */
const SLOW_MODIFY_MS = 300;
const JOB_MESSAGES = 30;

const tag = () => randomBytes(3).toString("hex");
const button = (scope: Page | Locator, name: string) => scope.getByRole("button", { name, exact: true });
const field = (scope: Page | Locator, label: string) => scope.getByLabel(label, { exact: true });
const heading = (page: Page, name: string) => page.getByRole("heading", { name, exact: true });

/** Waits until the locator's visible text matches every one of `parts`; answers that text. */
async function showsText(locator: Locator, ...parts: (string | RegExp)[]): Promise<string> {
  let last = "";
  await expect
    .poll(
      async () => {
        // biome-ignore lint/performance/useDomNodeTextContent: what a person sees, not hidden nodes
        last = await locator.innerText().catch(() => "");
        return parts.every((part) => (typeof part === "string" ? last.includes(part) : part.test(last)));
      },
      { timeout: STEP_MS, interval: 50, message: `waiting for ${parts.join(", ")}` },
    )
    .toBe(true);
  return last;
}

/** Whether the element the locator names has the keyboard focus. */
const hasFocus = (locator: Locator) =>
  locator.evaluate((element) => element === element.ownerDocument.activeElement);

/** Presses Tab until `target` has the focus, at most `presses` times: how many it took, or 0. */
async function tabTo(page: Page, target: Locator, presses = 3): Promise<number> {
  for (let pressed = 1; pressed <= presses; pressed++) {
    await page.keyboard.press("Tab");
    if (await hasFocus(target)) return pressed;
  }
  return 0;
}

const cspViolations = (tab: ConsoleTab) =>
  tab.errors.filter((text) => /content security policy|refused to (load|execute|apply|connect)/i.test(text));

describe("operator console (headless chromium, local stack, both simulators)", () => {
  let harness: ConsoleHarness;
  let url: string;

  beforeAll(async () => {
    harness = await startConsole({ JOB_CONCURRENCY });
    url = harness.stack.url;
  });
  afterAll(async () => {
    await harness?.close();
  });

  const tencent = () => {
    const sim = harness.stack.tencent;
    if (!sim) throw new Error("the stack runs no Tencent simulator");
    return sim;
  };

  /** C2C messages sent through the Tencent simulator and recorded from its callbacks: their ids. */
  async function sendTencent(from: string, texts: readonly string[], customData?: string): Promise<string[]> {
    const app = tencentApp(harness.stack);
    const sent = await Promise.all(
      texts.map(async (text, i) => ({
        to: `bob-${i}`,
        msgKey: await app.sendC2C(from, `bob-${i}`, text, customData),
      })),
    );
    await tencent().idle();
    return Promise.all(
      sent.map(async ({ to, msgKey }) => {
        const found = await api(
          url,
          `/v1/messages?provider=tencent&appId=${APP_ID}&msgKey=${msgKey}&from=${from}&to=${to}`,
        );
        expect(found.status).toBe(200);
        return (found.body as { id: string }).id;
      }),
    );
  }

  const versions = async (id: string) =>
    ((await api(url, `/v1/messages/${id}/versions`)).body as { items: VersionBody[] }).items;

  /** Fills the find form (provider, app, sender) and searches. */
  async function find(page: Page, provider: string, appId: string, sender: string): Promise<void> {
    await field(page, "Provider").fill(provider);
    await field(page, "App").fill(appId);
    await field(page, "Sender").fill(sender);
    await button(page, "Search").click();
  }

  /** Opens the message whose text the results list shows. */
  async function open(page: Page, text: string): Promise<void> {
    await page.getByRole("link", { name: text }).click();
    await heading(page, "Message").waitFor();
  }

  it("Tencent: sign in, find, open, edit the text, compare versions, restore version 1, purge with a reason", async () => {
    // Prepare
    const sender = `alice-${tag()}`;
    const [id = ""] = await sendTencent(sender, ["hello from tencent"]);
    const tab = await harness.open();
    const { page } = tab;
    await field(page, "API token").waitFor();
    await harness.screenshot(tab, "sign-in");

    // Act: sign in, find, open
    await field(page, "API token").fill(API_TOKEN);
    await button(page, "Sign in").click();
    await heading(page, "Find messages").waitFor();
    await find(page, "tencent", APP_ID, sender);
    await showsText(page.getByRole("table", { name: "Messages found" }), "hello from tencent", sender);
    await harness.screenshot(tab, "find");
    await open(page, "hello from tencent");
    // Assess: the content, the one version
    const versionsTable = page.getByRole("table", { name: "Versions" });
    await showsText(versionsTable, "callback");
    expect(await field(page, "Text").inputValue()).toBe("hello from tencent");
    await harness.screenshot(tab, "message");

    // Act: edit
    await field(page, "Text").fill("hello, edited in the console");
    await button(page, "Save").click();
    // Assess: version 2 stored and listed, version 1 restorable
    await showsText(versionsTable, "api", "hello, edited in the console");
    expect((await versions(id)).map((version) => version.source)).toEqual(["callback", "api"]);
    await button(page, "Restore version 1").waitFor();

    // Act: compare 1 → 2
    const compare = page.getByRole("form", { name: "Compare versions" });
    await field(compare, "From version").selectOption("1");
    await field(compare, "To version").selectOption("2");
    await button(compare, "Compare").click();
    // Assess: the removed words struck out, the added ones marked
    await showsText(compare, "hello from tencent", "hello, edited in the console");
    expect((await compare.getByRole("deletion").allInnerTexts()).join(" ")).toContain("tencent");
    expect((await compare.getByRole("insertion").allInnerTexts()).join(" ")).toContain("edited");
    await harness.screenshot(tab, "compare");

    // Act: restore version 1
    await button(page, "Restore version 1").click();
    // Assess: version 3 has version 1's text, in the API and in the editor
    await expect.poll(async () => (await versions(id)).length, { timeout: STEP_MS }).toBe(3);
    await expect
      .poll(() => field(page, "Text").inputValue(), { timeout: STEP_MS })
      .toBe("hello from tencent");

    // Act: purge, with a reason, through the confirmation
    await button(page, "Purge history").click();
    await field(page, "Reason").fill("e2e: personal data");
    await harness.screenshot(tab, "purge");
    await button(page, "Confirm purge").click();
    // Assess: every version but the newest lost its content, with the reason
    await showsText(versionsTable, "e2e: personal data");
    expect((await versions(id)).map((version) => version.purged?.reason)).toEqual([
      "e2e: personal data",
      "e2e: personal data",
      undefined,
    ]);
    expect(cspViolations(tab)).toEqual([]);
    expect(tab.dialogs).toEqual([]);
  }, 30_000);

  it("NetEase: finds and opens a message sent through the Yunxin simulator", async () => {
    // Prepare
    const app = neteaseApp(harness.stack);
    const sender = `nim${tag()}`;
    const msgId = await app.sendText(sender, "bob", "hello from yunxin");
    await harness.stack.netease?.idle();
    const tab = await harness.signedIn();
    const { page } = tab;
    // Act
    await find(page, "netease", app.appKey, sender);
    await open(page, "hello from yunxin");
    // Assess: its content and its Yunxin key
    expect(await field(page, "Text").inputValue()).toBe("hello from yunxin");
    await showsText(page.getByRole("region", { name: "Message", exact: true }), msgId, sender);
    await harness.screenshot(tab, "message-netease");

    // Act: the same message by its key (Provider and App still filled in)
    await page.getByRole("link", { name: "Messages", exact: true }).click();
    await field(page, "Message id or key").fill(msgId);
    await button(page, "Search").click();
    // Assess
    await heading(page, "Message").waitFor();
    expect(await field(page, "Text").inputValue()).toBe("hello from yunxin");
    expect(cspViolations(tab)).toEqual([]);
  }, 20_000);

  it("a bulk job: dry run with before/after, run, watch the progress, cancel mid-run, resume, done", async () => {
    // Prepare: the messages, and the job form filled in
    const sender = `bulk-${tag()}`;
    const word = `bulk${tag()}`;
    const ids = await sendTencent(
      sender,
      Array.from({ length: JOB_MESSAGES }, (_, i) => `${word} number ${i}`),
    );
    const tab = await harness.signedIn();
    const { page } = tab;
    await page.getByRole("link", { name: "Bulk jobs", exact: true }).click();
    const form = page.getByRole("form", { name: "Bulk job" });
    await field(form, "Provider").fill("tencent");
    await field(form, "App").fill(APP_ID);
    await field(form, "Sender").fill(sender);
    await field(form, "Match text").fill(`^${word} `);
    await field(form, "Find").fill(word);
    await field(form, "Replace with").fill("moderated");

    // Act: dry run
    await button(page, "Dry run").click();
    // Assess: before and after of each message, nothing edited
    const dryRun = page.getByRole("region", { name: /^Dry run job_/ });
    await showsText(dryRun, `Dry run done · ${JOB_MESSAGES} matched · ${JOB_MESSAGES} would change.`);
    await showsText(dryRun, `${word} number 7`, "moderated number 7");
    expect(await dryRun.getByRole("insertion").allInnerTexts()).toContain("moderated");
    await harness.screenshot(tab, "job-dry-run", dryRun);
    expect((await versions(ids[7] ?? "")).length).toBe(1);

    // Act: run it, each modify slowed down at the simulator
    for (let i = 0; i < JOB_MESSAGES; i++) {
      tencent().inject({ kind: "delay", ms: SLOW_MODIFY_MS, api: "modify_c2c_msg" });
    }
    await button(page, "Start job").click();
    const job = page.getByRole("region", { name: /^Job job_/ });
    // Assess: the progress moves while it runs
    await showsText(job, new RegExp(`Job running · [1-9]\\d*/${JOB_MESSAGES} messages`), /ETA \d+:\d\d/);
    await harness.screenshot(tab, "job-running");

    // Act: cancel
    await button(job, "Cancel job").click();
    // Assess: cancelled before the end
    const cancelled = await showsText(job, new RegExp(`Job cancelled · \\d+/${JOB_MESSAGES} messages`));
    await harness.screenshot(tab, "job-cancelled");
    const settled = Number(/cancelled · (\d+)\//.exec(cancelled)?.[1]);
    expect(settled).toBeLessThan(JOB_MESSAGES);
    const jobId = (/job_[0-9a-z]+/.exec((await job.getByRole("heading").textContent()) ?? "") ?? [""])[0];
    expect((await api(url, `/v1/edits/${jobId}`)).body).toMatchObject({ status: "cancelled" });
    // The delays left are taken by requests of our own (refused, nothing applied): the rest runs at full speed.
    await Promise.all(
      Array.from({ length: tencent().pendingFaults }, async () => {
        const reply = await request(`${tencent().url}/v4/openim/modify_c2c_msg`, {
          method: "POST",
          body: "{}",
        });
        await reply.body.dump();
      }),
    );
    expect(tencent().pendingFaults).toBe(0);

    // Act: resume
    await button(job, "Resume job").click();
    // Assess: done, every message edited once by the job
    await showsText(
      job,
      `Job done · ${JOB_MESSAGES}/${JOB_MESSAGES} messages · done ${JOB_MESSAGES}, failed 0`,
    );
    await harness.screenshot(tab, "job-done");
    for (const id of ids) {
      const history = await versions(id);
      expect(history.filter((version) => version.jobId === jobId)).toHaveLength(1);
    }
    expect(cspViolations(tab)).toEqual([]);
  }, 40_000);

  it("XSS: a message whose text is markup shows as text: no image element, no dialog", async () => {
    // Prepare: markup in the text and in the custom data
    const markup = "<img src=x onerror=alert(1)>";
    const dataMarkup = '{"note":"<svg onload=alert(2)>"}';
    const sender = `mallory-${tag()}`;
    await sendTencent(sender, [markup], dataMarkup);
    const tab = await harness.signedIn();
    const { page } = tab;
    // Act
    await find(page, "tencent", APP_ID, sender);
    await showsText(page.getByRole("table", { name: "Messages found" }), markup);
    await open(page, markup);
    // Assess: the markup as text in the list, the content and the editor; nothing made of it
    const message = page.getByRole("region", { name: "Message", exact: true });
    await showsText(message, markup);
    await showsText(page.getByRole("table", { name: "Versions" }), markup);
    expect(await field(page, "Text").inputValue()).toBe(markup);
    expect(await field(page, "Custom data").inputValue()).toBe(dataMarkup);
    await showsText(message, "<svg onload=alert(2)>");
    expect(await page.locator("img, svg, [onerror], [onload]").count()).toBe(0);
    expect(tab.dialogs).toEqual([]);
    await harness.screenshot(tab, "xss");
  }, 20_000);

  it("CSP: the console's responses carry the policy, and no page reports a violation", async () => {
    // Act
    const index = await request(harness.consoleUrl);
    const html = await index.body.text();
    const config = await request(`${harness.consoleUrl}config.json`);
    const configBody = await config.body.json();
    const tab = await harness.signedIn();
    // Assess: the policy on the page and its config, no inline script or style in the page
    for (const reply of [index, config]) {
      const policy = String(reply.headers["content-security-policy"] ?? "");
      expect(policy).toContain("default-src 'none'");
      expect(policy).toContain("script-src 'self'");
      expect(policy).toContain("frame-ancestors 'none'");
      expect(policy).not.toContain("unsafe-inline");
    }
    expect(configBody).toEqual({ mode: "token", apiUrl: "" });
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(cspViolations(tab)).toEqual([]);
    expect(tab.errors).toEqual([]);
  });

  it("every accessible name of the contract is there, once per screen", async () => {
    // Prepare
    const tab = await harness.signedIn();
    const { page } = tab;
    /** How many controls each name labels (fields) or names (buttons) in the scope. */
    const counted = async (names: readonly string[], control: (name: string) => Locator) =>
      Object.fromEntries(await Promise.all(names.map(async (name) => [name, await control(name).count()])));
    const once = (names: readonly string[]) => Object.fromEntries(names.map((name) => [name, 1]));
    const filters = ["Provider", "App", "Conversation", "Sender", "Since", "Until"];
    // Act + Assess: find
    const findFields = [...filters, "Message id or key"];
    expect(await counted(findFields, (name) => field(page, name))).toEqual(once(findFields));
    expect(await counted(["Search"], (name) => button(page, name))).toEqual(once(["Search"]));
    // Act + Assess: bulk jobs
    await page.getByRole("link", { name: "Bulk jobs", exact: true }).click();
    await heading(page, "Bulk jobs").waitFor();
    const form = page.getByRole("form", { name: "Bulk job" });
    const jobFields = [...filters, "Match text", "Find", "Replace with"];
    expect(await counted(jobFields, (name) => field(form, name))).toEqual(once(jobFields));
    expect(await counted(["Dry run", "Start job"], (name) => button(form, name))).toEqual(
      once(["Dry run", "Start job"]),
    );
  });

  it("keyboard: Tab goes from the token field to Sign in, and from the search fields to Search", async () => {
    // Prepare
    const tab = await harness.open();
    const { page } = tab;
    // Act + Assess: sign in with the keyboard
    await field(page, "API token").fill(API_TOKEN);
    expect(await tabTo(page, button(page, "Sign in"))).toBe(1);
    await page.keyboard.press("Enter");
    await heading(page, "Find messages").waitFor();
    // Act + Assess: from the last filter and from the id field to Search
    await field(page, "Until").focus();
    expect(await tabTo(page, button(page, "Search"))).toBeGreaterThan(0);
    await field(page, "Message id or key").focus();
    expect(await tabTo(page, button(page, "Search"))).toBe(1);
  });

  it("a refused token is said in words; the token is in no URL and not in local storage", async () => {
    // Prepare
    const tab = await harness.open();
    const { page } = tab;
    // Act
    await field(page, "API token").fill("not-the-token");
    await button(page, "Sign in").click();
    // Assess
    await showsText(page.getByRole("alert"), /refused/i);
    // Act
    await field(page, "API token").fill(API_TOKEN);
    await button(page, "Sign in").click();
    await heading(page, "Find messages").waitFor();
    // Assess
    expect(page.url()).not.toContain(API_TOKEN);
    expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain(API_TOKEN);
  });
});
