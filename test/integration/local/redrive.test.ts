import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DirectoryDeadLetters } from "../../../functions/adapters/dead-letters/directory.ts";
import { createForwardQueue } from "../../../functions/adapters/relay/index.ts";
import type { Forward } from "../../../functions/core/relay.ts";
import { tencentForward } from "../../helpers/forward-app.ts";
import { runLocalScript } from "../../helpers/local-script.ts";

/** `npm run redrive -- <args>` on a DATA_DIR (no API needed for forward letters). */
const redrive = (dataDir: string, args: string[]) =>
  runLocalScript("local/redrive.ts", args, {
    DATA_DIR: dataDir,
    IM_EDIT_API_URL: "http://127.0.0.1:9",
    IM_EDIT_API_TOKEN: "",
  });

const forward = tencentForward('{"MsgBody":[{"Text":"private words"}]}');

describe("npm run redrive: forward-queue letters", () => {
  let dataDir: string;
  let letters: DirectoryDeadLetters;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "im-edit-redrive-"));
    letters = new DirectoryDeadLetters(join(dataDir, "dead-letters"));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("lists them by provider and forward id; --replay puts them back in DATA_DIR/forwards, where the queue delivers them", async () => {
    // Prepare
    const reason = { code: "app_status", message: "the app answered 503", status: 503, receiveCount: 8 };
    await letters.put(JSON.stringify(forward), { ...reason, source: "forward-queue" });
    await letters.put('{"provider":"tencent"}', {
      code: "not_a_forward",
      message: "no",
      source: "forward-queue",
    });

    // Act
    const list = await redrive(dataDir, []);
    const replay = await redrive(dataDir, ["--replay"]);
    const delivered: Forward[] = [];
    const queue = createForwardQueue({
      dataDir,
      deliver: async (f) => {
        delivered.push(f);
      },
      maxAttempts: 8,
    });
    await vi.waitFor(() => expect(delivered).toHaveLength(1), { timeout: 5_000, interval: 10 });
    await queue.close();

    // Assess
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(
      `app_status  status 503  receive 8  from forward-queue  tencent callback forward ${forward.id}`,
    );
    expect(list.stdout).not.toContain("private words");
    expect(replay.stderr).toBe("");
    expect(replay.stdout).toContain("queued: the stack's forward queue delivers it again");
    expect(replay.stdout).toContain("kept: not a forward");
    expect(replay.code).toBe(1);
    expect((await letters.list()).letters.map((letter) => letter.reason.code)).toEqual(["not_a_forward"]);
    expect(delivered).toEqual([forward]);
    expect(await readdir(join(dataDir, "forwards"))).toEqual([]);
  }, 30_000);
});
