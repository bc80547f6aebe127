import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";

/**
 * `npm run send -- <provider> <from> <to> <text>`: sends a message through the running local stack's
 * provider simulator, the way an app backend (or a client) would, so the provider calls the recorder
 * back. Reads the simulators' generated credentials from DATA_DIR (written by `npm start`). Any simulator
 * in the registry (local/simulators/registry.ts) with a `send` takes part.
 */
process.env.AWS_EC2_METADATA_DISABLED = "true";
const { SIMULATORS } = await import("./simulators/registry.ts");
const { SIMULATORS_FILE } = await import("./stack.ts");

const senders = SIMULATORS.filter((simulator) => simulator.send !== undefined);
const [provider, from, to, ...words] = process.argv.slice(2);
const text = words.join(" ");
const simulator = senders.find((candidate) => candidate.name === provider);
if (!simulator?.send || !from || !to || !text) {
  process.stderr.write(
    `usage: npm run send -- <${senders.map((sender) => sender.name).join("|")}> <from> <to> <text>\n`,
  );
  process.exit(2);
}

const dataDir = resolve(process.env.DATA_DIR || ".data");
let simulators: Record<string, Record<string, string>>;
try {
  simulators = JSON.parse(await readFile(join(dataDir, SIMULATORS_FILE), "utf8"));
} catch {
  process.stderr.write(
    `no running local stack with simulators found under ${dataDir}: run \`npm start\` first\n`,
  );
  process.exit(1);
}
const credentials = simulators[simulator.name];
if (!credentials) {
  process.stderr.write(`the local stack runs no ${simulator.name} simulator\n`);
  process.exit(1);
}
const apiUrl = simulators.api?.url ?? "http://127.0.0.1:3000";
process.stdout.write(await simulator.send(credentials, { from, to, text }, apiUrl));
