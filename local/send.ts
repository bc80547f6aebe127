import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";

/**
 * `npm run send -- <tencent|netease> <from> <to> <text>`: sends a message through the running local
 * stack's provider simulator, the way an app backend (or a client) would, so the provider calls the
 * recorder back. Reads the simulators' generated credentials from DATA_DIR (written by `npm start`).
 */
process.env.AWS_EC2_METADATA_DISABLED = "true";
const { SlidingWindowLimiter } = await import("../functions/core/limiter.ts");
const { TencentRestClient } = await import("../functions/providers/tencent/rest.ts");
const { UserSigCache } = await import("../functions/providers/tencent/usersig.ts");
const { NeteaseRestClient } = await import("../functions/providers/netease/rest.ts");
const { SIMULATORS_FILE } = await import("./stack.ts");

const [provider, from, to, ...words] = process.argv.slice(2);
const text = words.join(" ");
if ((provider !== "tencent" && provider !== "netease") || !from || !to || !text) {
  process.stderr.write("usage: npm run send -- <tencent|netease> <from> <to> <text>\n");
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
const limiter = new SlidingWindowLimiter(() => ({ limit: 100, windowMs: 1000 }));
const deadline = Date.now() + 5_000;
const apiUrl = simulators.api?.url ?? "http://127.0.0.1:3000";

if (provider === "tencent") {
  const sim = simulators.tencent;
  if (!sim) throw new Error("the local stack runs no Tencent simulator");
  const rest = new TencentRestClient({
    baseUrl: sim.url ?? "",
    sdkAppId: sim.sdkAppId ?? "",
    identifier: sim.adminIdentifier ?? "",
    userSig: new UserSigCache(sim.sdkAppId ?? "", sim.secretKey ?? "", sim.adminIdentifier ?? ""),
    limiter,
  });
  const reply = await rest.call(
    "openim",
    "sendmsg",
    {
      From_Account: from,
      To_Account: to,
      MsgRandom: Math.floor(Math.random() * 4_294_967_295),
      MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: text } }],
    },
    { deadline, resendAfterSend: false },
  );
  process.stdout.write(
    `sent; MsgKey ${reply.MsgKey}\nlook it up: ${apiUrl}/v1/messages?provider=tencent&appId=${sim.sdkAppId}&msgKey=${reply.MsgKey}\n`,
  );
} else {
  const sim = simulators.netease;
  if (!sim) throw new Error("the local stack runs no Yunxin simulator");
  const rest = new NeteaseRestClient({
    baseUrl: sim.url ?? "",
    appKey: sim.appKey ?? "",
    appSecret: sim.appSecret ?? "",
    limiter,
  });
  const conversation = encodeURIComponent(`${from}|1|${to}`);
  const reply = await rest.call(
    "POST",
    `/im/v2/conversations/${conversation}/messages`,
    JSON.stringify({ message: { message_type: 0, text } }),
    { operation: "send", deadline, resendAfterSend: false, rateKeys: [] },
  );
  const msgId = String(reply.data?.message_server_id);
  process.stdout.write(
    `sent; message_server_id ${msgId}\nlook it up: ${apiUrl}/v1/messages?provider=netease&appId=${sim.appKey}&msgId=${msgId}\n`,
  );
}
