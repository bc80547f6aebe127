import type { Pool } from "undici";
import { AFTER_SEND_COMMAND, afterSendBody, randomUint32 } from "./callbacks.ts";
import type { RelayBenchOptions } from "./relay.ts";
import type { App } from "./relay-app.ts";
import { CALLBACK_PATH, sha256, signedQuery, TOKEN } from "./relay-callbacks.ts";
import { summarize } from "./stats.ts";

/** The after-sends must all have reached the app this long after the last one was answered. */
const DRAIN_LIMIT_MS = 20_000;

/**
 * N after-sends through the stack, `asyncConcurrency` at a time: each answered once recorded and its
 * forward written to DATA_DIR/forwards; then the wait until the app has all N (by forward id), and
 * whether each arrived with the bytes sent, a valid Sign and the recorded message's id.
 */
export async function asyncForwards(toStack: Pool, app: App, run: string, options: RelayBenchOptions) {
  const count = options.asyncForwards;
  const sent = new Set<string>();
  const answered: number[] = [];
  const problems: string[] = [];
  let allArrived: () => void = () => {};
  const arrived = new Promise<void>((resolve) => {
    allArrived = resolve;
  });
  let lastArrival = 0;
  app.onAfterSend = () => {
    lastArrival = performance.now();
    if (app.afterSends.size >= count) allArrived();
  };
  const time = Math.floor(Date.now() / 1000);
  const random = randomUint32();
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const body = Buffer.from(
        afterSendBody({ from: `relay-${run}-a${i}`, to: `relay-${run}-b${i}`, seq: i + 1, random, time }),
      );
      sent.add(sha256(body));
      const query = signedQuery(AFTER_SEND_COMMAND, TOKEN);
      const t0 = performance.now();
      const response = await toStack.request({
        method: "POST",
        path: `${CALLBACK_PATH}?${query}`,
        headers: { "content-type": "application/json" },
        body,
      });
      const text = await response.body.text();
      answered.push(performance.now() - t0);
      if (response.statusCode !== 200 && problems.length < 3) {
        problems.push(`after-send answered HTTP ${response.statusCode}: ${text.slice(0, 120)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.asyncConcurrency }, worker));
  const lastAnswer = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const drained = await Promise.race([
    arrived.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), DRAIN_LIMIT_MS);
    }),
  ]);
  clearTimeout(timer);
  app.onAfterSend = undefined;
  if (!drained) {
    problems.push(
      `only ${app.afterSends.size} of ${count} after-sends reached the app within ${DRAIN_LIMIT_MS} ms`,
    );
  }
  let identical = 0;
  let deliveries = 0;
  for (const got of app.afterSends.values()) {
    deliveries += got.length;
    if (got.every((d) => sent.has(d.hash) && d.signed && d.messageId)) identical++;
  }
  const distinctBodies = new Set([...app.afterSends.values()].flatMap((got) => got.map((d) => d.hash)));
  if (distinctBodies.size !== app.afterSends.size) {
    problems.push(`${app.afterSends.size} forward ids for ${distinctBodies.size} distinct bodies`);
  }
  return {
    count,
    answered: summarize(answered),
    allAtAppMs: drained ? lastArrival - started : Number.NaN,
    afterLastAnswerMs: drained ? Math.max(0, lastArrival - lastAnswer) : Number.NaN,
    identical,
    deliveries,
    distinct: app.afterSends.size,
    problems,
  };
}

/** What the asynchronous forwards came to. */
export type ForwardsResult = Awaited<ReturnType<typeof asyncForwards>>;
