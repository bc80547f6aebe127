import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import { EVENT_SOURCE } from "../functions/core/outbox.ts";
import { EDIT_REQUESTED } from "../functions/http/eventbridge.ts";
import { type HttpResult, json } from "../functions/http/respond.ts";
import { lambdaContext } from "./server.ts";

/** The local stand-in for `aws events put-events`: EditRequested in, routed to the editor. */
export const LOCAL_EVENTS_PATH = "/_local/events";

/** PutEvents takes at most 10 entries per request. */
const MAX_ENTRIES = 10;

export type EventTarget = (event: Record<string, unknown>, context: Context) => Promise<unknown>;

type Loose = Readonly<Record<string, unknown>>;
const isObject = (value: unknown): value is Loose =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * `POST /_local/events` (bearer token): takes what `aws events put-events` takes, a PutEvents request
 * (`{ "Entries": [...] }`), an array of entries or one entry, each `{ "Source"?, "DetailType", "Detail" }`
 * (Detail a JSON string or an object; Source defaults to `im-edit`) or an EventBridge event
 * (`{ "source", "detail-type", "detail" }`). What the stack's EventBridge rule matches (source `im-edit`,
 * detail-type `EditRequested`) goes to the editor handler as the event EventBridge would deliver, and
 * runs now; the answer has PutEvents' shape plus what the editor answered for each entry.
 */
export function localEventsRoute(editor: EventTarget): (body: Buffer) => Promise<HttpResult> {
  return async (body) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      return badRequest("the body is not JSON: send a PutEvents request, an entry or an array of entries");
    }
    const entries = isObject(parsed) && Array.isArray(parsed.Entries) ? parsed.Entries : [parsed].flat();
    if (entries.length === 0 || entries.length > MAX_ENTRIES) {
      return badRequest(`send 1 to ${MAX_ENTRIES} entries, as PutEvents takes`);
    }
    const results: Record<string, unknown>[] = [];
    for (const entry of entries) results.push(await deliver(editor, entry));
    return json(200, {
      FailedEntryCount: results.filter((result) => "ErrorCode" in result).length,
      Entries: results,
    });
  };
}

async function deliver(editor: EventTarget, entry: unknown): Promise<Record<string, unknown>> {
  if (!isObject(entry)) return failed("InvalidArgument", "an entry is an object");
  const detailType = entry.DetailType ?? entry["detail-type"];
  const source = entry.Source ?? entry.source ?? EVENT_SOURCE;
  let detail = entry.Detail ?? entry.detail;
  if (typeof detailType !== "string" || detailType === "") {
    return failed("InvalidArgument", "DetailType is required");
  }
  if (typeof detail === "string") {
    try {
      detail = JSON.parse(detail);
    } catch {
      return failed("MalformedDetail", "Detail is not valid JSON");
    }
  }
  if (!isObject(detail)) return failed("MalformedDetail", "Detail must be a JSON object");
  const eventId = randomUUID();
  if (source !== EVENT_SOURCE || detailType !== EDIT_REQUESTED) {
    // Put on the bus, but no rule of the stack's matches it: nothing runs.
    return {
      EventId: eventId,
      matched: false,
      note: `only ${EVENT_SOURCE} ${EDIT_REQUESTED} reaches the editor`,
    };
  }
  const event = {
    version: "0",
    id: eventId,
    "detail-type": detailType,
    source,
    account: "000000000000",
    time: new Date().toISOString(),
    region: "local",
    resources: [],
    detail,
  };
  try {
    return { EventId: eventId, matched: true, result: await editor(event, lambdaContext("editor")) };
  } catch (thrown: unknown) {
    const reason = thrown instanceof Error ? thrown.message : String(thrown);
    // In AWS, Lambda retries such an event (twice, asynchronously); locally the caller sends it again.
    return { EventId: eventId, matched: true, retryable: true, error: reason };
  }
}

const failed = (code: string, message: string) => ({ ErrorCode: code, ErrorMessage: message });

const badRequest = (message: string): HttpResult =>
  json(400, { error: { code: "validation_failed", message } });
