import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import type { LocalStack } from "../../local/stack.ts";
import { API_TOKEN, startTestStack } from "../helpers/stack.ts";

/** Debian's chromium (installed by .ci/run when missing): playwright-core never downloads a browser. */
export const CHROMIUM = "/usr/bin/chromium";

/** What the tests leave for people to look at: kept out of git by its own .gitignore. */
const RESULTS_DIR = "test-results";
/** Where every screen's screenshot goes (`npm run screenshots` copies the README's to docs/console). */
export const SCREENSHOT_DIR = join(RESULTS_DIR, "console");

/** The tallest picture of a part of a page. */
const SCREENSHOT_MAX_HEIGHT = 1_000;

/**
 * The flags this machine needs besides --headless and --no-sandbox (playwright-core adds both): no GPU,
 * and nothing that phones home (the closed network refuses it, slowly).
 */
const CHROMIUM_FLAGS = [
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * How long one UI step may take before it fails: the local stack answers in milliseconds, but the whole
 * suite shares two cores with this browser.
 */
export const STEP_MS = 10_000;

/** A tab of the console and what it reported: console errors, uncaught errors and dialogs opened. */
export interface ConsoleTab {
  readonly page: Page;
  /** Console messages of type error and uncaught page errors, as text. */
  readonly errors: string[];
  /** Messages of every dialog (alert, confirm, prompt) the page opened: each is dismissed. */
  readonly dialogs: string[];
}

export interface ConsoleHarness {
  readonly stack: LocalStack;
  /** `<stack>/console/` */
  readonly consoleUrl: string;
  /** A new tab (own sessionStorage) on the console, not signed in yet. */
  open(): Promise<ConsoleTab>;
  /** A new tab signed in with the stack's API token, on the find screen. */
  signedIn(): Promise<ConsoleTab>;
  /**
   * A full-page screenshot of the tab into test-results/console/<name>.png; given a part of the page, the
   * first SCREENSHOT_MAX_HEIGHT pixels from its top instead (a long list would make a very tall picture).
   */
  screenshot(tab: ConsoleTab, name: string, part?: Locator): Promise<void>;
  close(): Promise<void>;
}

/**
 * The local stack with both simulators and the console it serves, and a headless Debian chromium
 * (a fresh profile each run) on it.
 */
export async function startConsole(env: Record<string, string> = {}): Promise<ConsoleHarness> {
  const stack = await startTestStack({ tencentSimulator: true, neteaseSimulator: true, env });
  let context: BrowserContext | undefined;
  const profile = await mkdtemp(join(tmpdir(), "im-edit-chromium-"));
  try {
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    await writeFile(join(RESULTS_DIR, ".gitignore"), "*\n");
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 900 },
      timeout: 30_000,
    });
  } catch (error: unknown) {
    await stack.close();
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  const browser = context;
  browser.setDefaultTimeout(STEP_MS);
  const consoleUrl = `${stack.url}/console/`;

  const open = async (): Promise<ConsoleTab> => {
    const page = await browser.newPage();
    const tab: ConsoleTab = { page, errors: [], dialogs: [] };
    page.on("console", (message) => {
      if (message.type() === "error") tab.errors.push(message.text());
    });
    page.on("pageerror", (error) => tab.errors.push(error.message));
    page.on("dialog", (dialog) => {
      tab.dialogs.push(dialog.message());
      void dialog.dismiss().catch(() => {});
    });
    await page.goto(consoleUrl);
    return tab;
  };

  return {
    stack,
    consoleUrl,
    open,
    async signedIn() {
      const tab = await open();
      await tab.page.getByLabel("API token", { exact: true }).fill(API_TOKEN);
      await tab.page.getByRole("button", { name: "Sign in", exact: true }).click();
      await tab.page.getByRole("heading", { name: "Find messages" }).waitFor();
      return tab;
    },
    async screenshot(tab, name, part) {
      const box = await part?.boundingBox();
      const clip = box ? { ...box, height: Math.min(box.height, SCREENSHOT_MAX_HEIGHT) } : undefined;
      await tab.page.screenshot({
        path: join(SCREENSHOT_DIR, `${name}.png`),
        fullPage: true,
        ...(clip ? { clip } : {}),
      });
    },
    async close() {
      await browser.close().catch(() => {});
      await stack.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
