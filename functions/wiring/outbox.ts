// The *publish* stage's outbox, as `createDependencies` wires it: EventBridge, SQS, printed or POSTed
// locally, in-process, fanned out; each sink loaded on first use.
import { fanOut, type NamedSink } from "../adapters/outbox/fan-out.ts";
import { InProcessOutbox } from "../adapters/outbox/in-process.ts";
import type { Config } from "../config.ts";
import { guardedOutbox, NO_OUTBOX, type Outbox } from "../core/outbox.ts";
import { logger } from "../logger.ts";
import { reportLost } from "./observers.ts";

/** How long a callback waits for its events to be published before it answers anyway (reported). */
export const PUBLISH_BUDGET_MS = 300;

/**
 * The *publish* stage's outbox: every configured sink gets every batch (fanOut). EVENT_BUS_NAME
 * (`-c events=eventbridge`): EventBridge, source `im-edit`; EVENTS_QUEUE_URL (`-c events=sqs`): SQS; their
 * SDKs are loaded on the first publish. IM_EDIT_EVENTS_URL: printed (`-`) or POSTed to a developer's URL.
 * Locally (DATA_DIR): in-process as well, each event logged at debug. None of them: events are off, the
 * default deployment (each message would cost one more request). Events leave the process without
 * content unless EVENTS_INCLUDE_CONTENT. Publishing never fails a callback or an edit: a failure or a
 * publish over its budget is logged and counted (`PublishFailed`), and delivery is at most once until
 * the relay issue's durable forward queue.
 */
export function createOutbox(config: Config): Outbox {
  const includeContent = config.eventsIncludeContent;
  const sinks: NamedSink[] = [];
  const bus = config.eventBusName;
  if (bus !== undefined) {
    sinks.push({
      name: "eventbridge",
      outbox: lazyOutbox(() =>
        import("../adapters/outbox/eventbridge.ts").then((m) =>
          m.createEventBridgeOutbox(config.region, bus, { includeContent }),
        ),
      ),
    });
  }
  const queueUrl = config.eventsQueueUrl;
  if (queueUrl !== undefined) {
    sinks.push({
      name: "sqs",
      outbox: lazyOutbox(() =>
        import("../adapters/outbox/sqs.ts").then((m) =>
          m.createSqsOutbox(config.region, queueUrl, { includeContent }),
        ),
      ),
    });
  }
  const eventsUrl = config.eventsUrl;
  if (eventsUrl !== undefined) {
    sinks.push({
      name: "IM_EDIT_EVENTS_URL",
      outbox: lazyOutbox(() =>
        import("../adapters/outbox/http.ts").then((m) => m.eventsUrlOutbox(eventsUrl, { includeContent })),
      ),
    });
  }
  // Sinks beyond this process answer within the publish budget; in-process subscribers are awaited.
  const budget = sinks.length > 0 ? PUBLISH_BUDGET_MS : undefined;
  if (config.dataDir !== undefined) {
    // Subscribers come with the features that consume events (rules, the relay); at debug level each is logged.
    const local = new InProcessOutbox(
      logger.getLevelName() === "DEBUG"
        ? [
            (events) => {
              for (const event of events) logger.debug("event", { event });
            },
          ]
        : [],
      { includeContent },
    );
    sinks.push({ name: "in-process", outbox: local });
  }
  if (sinks.length === 0) return NO_OUTBOX;
  const [only] = sinks;
  return guardedOutbox(sinks.length === 1 && only ? only.outbox : fanOut(sinks), reportLost, budget);
}

/**
 * An outbox whose adapter (and SDK) is imported when the dependencies are made (first invocation, not the
 * bundle's import), without waiting: it loads while the first callback writes to the store, so the first
 * publish does not spend its budget importing. A failed import is tried again on the next publish.
 */
export function lazyOutbox(load: () => Promise<Outbox>): Outbox {
  let loaded: Promise<Outbox> | undefined = load();
  loaded.catch(() => {
    loaded = undefined;
  });
  return {
    publish: async (events) => {
      loaded ??= load();
      loaded.catch(() => {
        loaded = undefined;
      });
      await (await loaded).publish(events);
    },
  };
}
