import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SIMULATORS } from "../../../local/simulators/registry.ts";
import { type LocalStack, SIMULATORS_FILE } from "../../../local/stack.ts";
import { api, startTestStack } from "../../helpers/stack.ts";

/**
 * `npm run send` looks the provider's sender up on its simulator's registry entry: each built-in one sends
 * through its simulator with the credentials `npm start` leaves in DATA_DIR, the provider calls back, and
 * the printed lookup URL finds the recorded message.
 */
describe("the simulators' senders (npm run send)", () => {
  let stack: LocalStack;
  let credentials: Record<string, Record<string, string>>;

  beforeAll(async () => {
    stack = await startTestStack({ tencentSimulator: true, neteaseSimulator: true });
    const dataDir = stack.config.dataDir ?? "";
    credentials = JSON.parse(await readFile(join(dataDir, SIMULATORS_FILE), "utf8"));
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("every built-in simulator has one", () => {
    expect(SIMULATORS.filter((simulator) => simulator.send).map((simulator) => simulator.name)).toEqual([
      "tencent",
      "netease",
    ]);
  });

  it.each([
    [
      "tencent",
      /^sent; MsgKey (\S+)\nlook it up: (\S+\/v1\/messages\?provider=tencent&appId=\d+&from=\S+&to=\S+&msgKey=\S+)\n$/,
    ],
    [
      "netease",
      /^sent; message_server_id (\d+)\nlook it up: (\S+\/v1\/messages\?provider=netease&appId=\S+&msgId=\d+)\n$/,
    ],
  ])("%s: sends, prints the lookup URL, and the message is recorded", async (name, printed) => {
    const simulator = SIMULATORS.find((candidate) => candidate.name === name);
    const sent = await simulator?.send?.(
      credentials[name] ?? {},
      { from: "alice", to: "bob", text: `hello from ${name}` },
      credentials.api?.url ?? "",
    );
    const match = printed.exec(sent ?? "");
    expect(match, sent).not.toBeNull();
    const lookup = new URL(match?.[2] ?? "");
    expect(lookup.origin).toBe(stack.url);
    const found = await api(stack.url, `${lookup.pathname}${lookup.search}`);
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ provider: name, sender: "alice", state: "sent" });
  });
});
