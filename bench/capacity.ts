import { setTimeout as sleep } from "node:timers/promises";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { Client } from "undici";
import { createDocumentClient } from "../functions/adapters/dynamodb/client.ts";
import { DynamoStore } from "../functions/adapters/dynamodb/store.ts";
import { HEAD_SK, messagePk } from "../functions/adapters/dynamodb/table.ts";
import { c2cId } from "../functions/providers/tencent/identity.ts";
import { type AfterSend, APP_ID, afterSendBody, CALLBACK_PATH, msgKeyOf, randomUint32 } from "./callbacks.ts";
import { type CapacityReport, describeUnits, sizes, sumCapacity } from "./capacity-units.ts";
import { CountingStore } from "./counting-store.ts";
import { javaAvailable, startDynamoLocal } from "./dynamo-local.ts";
import { WireLog } from "./dynamo-wire.ts";
import { API_TOKEN, type EditStack, sendMessages, startEditStack } from "./edit-stack.ts";
import type { BenchmarkResult, Row } from "./report.ts";

/**
 * Benchmark "dynamodb-capacity": what the DynamoDB adapter (what runs in AWS) consumes, measured on
 * DynamoDB Local through the real local stack (server, recorder, editor, Tencent simulator), with the
 * adapter's capacity observer (`ReturnConsumedCapacity: INDEXES`, table and each index apart) and the
 * DynamoDB requests seen on the wire (X-Amz-Target, in order):
 *
 * - per recorded message: a fresh C2C after-send callback over HTTP (WRU table + indexes, requests, the
 *   first request a write); then the same callback again (a duplicate: requests, store calls);
 * - stored bytes per short text message: the head items read back from DynamoDB Local (measured), their
 *   size and index copies by DynamoDB's published rules (computed, size.ts);
 * - per edit: PATCH /v1/messages/{id} with the simulator's after-modify echo delivered to the recorder
 *   before it answers (store calls, requests, WRU, RRU).
 *
 * DynamoDB Local, not dynalite: dynalite reports the table's units only and ignores
 * ReturnValuesOnConditionCheckFailure (a duplicate would need a read there).
 */
export interface CapacityOptions {
  /** Fresh callbacks recorded (then each sent again as a duplicate). */
  readonly messages: number;
  /** Messages sent through sendmsg, each edited once. */
  readonly edits: number;
}

const DEFAULTS: CapacityOptions = { messages: 40, edits: 40 };
const TABLE_NAME = "im-edit-bench";
const GOAL_WRU_PER_MESSAGE = 3;
const GOAL_CALLS_PER_DUPLICATE = 1;
const GOAL_STORED_BYTES = 2048;
const GOAL_STORE_CALLS_PER_EDIT = 6;
const READS = new Set(["GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"]);

export async function dynamoCapacity(options: CapacityOptions = DEFAULTS): Promise<BenchmarkResult> {
  if (!javaAvailable()) {
    return {
      title: "DynamoDB adapter on DynamoDB Local: NOT MEASURED",
      rows: [{ metric: "DynamoDB Local", value: "java is not on PATH; install a JRE to measure" }],
    };
  }
  const dynamo = await startDynamoLocal();
  const capacity: CapacityReport[] = [];
  const wire = new WireLog(dynamo.endpoint);
  let edit: EditStack | undefined;
  let http: Client | undefined;
  try {
    const documents = createDocumentClient({ region: "local", endpoint: dynamo.endpoint });
    const store = new DynamoStore(documents, TABLE_NAME, {
      onCapacity: (operation, consumed) => {
        for (const one of consumed) capacity.push({ phase: wire.phase, operation, consumed: one });
      },
    });
    const counted = new CountingStore(store);
    edit = await startEditStack(
      { TABLE_NAME },
      {
        dynamodbEndpoint: dynamo.endpoint,
        store: () => ({ store: counted.store, close: () => documents.destroy() }),
      },
    );
    const { stack } = edit;
    const client = new Client(stack.url, {
      connectTimeout: 2_000,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    http = client;
    const setPhase = (phase: string) => {
      wire.phase = phase;
      counted.phase = phase;
    };

    // A few callbacks first (connections, code paths), not measured.
    const time = Math.floor(Date.now() / 1000);
    const random = randomUint32();
    const message = (i: number): AfterSend => ({
      from: `cap-${edit?.run}`,
      to: `peer-${i % 7}`,
      seq: i + 1,
      random,
      time,
    });
    const post = async (m: AfterSend): Promise<boolean> => {
      const response = await client.request({
        method: "POST",
        path: CALLBACK_PATH,
        headers: { "content-type": "application/json" },
        body: afterSendBody(m),
      });
      const text = await response.body.text();
      return response.statusCode === 200 && text.includes('"ActionStatus":"OK"');
    };
    setPhase("warmup");
    for (let i = 0; i < 5; i++) await post(message(options.messages + i));

    // Fresh messages, one at a time: what each one's requests were, in order.
    let okRecorded = 0;
    let readFirst = 0;
    setPhase("record");
    for (let i = 0; i < options.messages; i++) {
      const before = wire.targets("record").length;
      if (await post(message(i))) okRecorded++;
      const first = wire.targets("record")[before];
      if (first === undefined || READS.has(first)) readFirst++;
    }
    setPhase("duplicate");
    let okDuplicate = 0;
    for (let i = 0; i < options.messages; i++) if (await post(message(i))) okDuplicate++;

    // The items as DynamoDB Local holds them.
    setPhase("inspect");
    const items = await Promise.all(
      Array.from({ length: options.messages }, async (_, i) => {
        const m = message(i);
        const id = c2cId(APP_ID, m.from, m.to, msgKeyOf(m));
        const output = await documents.send(
          new GetCommand({ TableName: TABLE_NAME, Key: { pk: messagePk(id), sk: HEAD_SK } }),
        );
        return output.Item;
      }),
    );
    const heads = items.filter((item): item is Record<string, unknown> => item !== undefined);

    // Edits: messages sent through the simulator (recorded from its callbacks), each edited once.
    setPhase("prepare");
    const sent = await sendMessages(edit, options.edits + 3, "cap");
    const patch = async (id: string, text: string): Promise<boolean> => {
      const response = await client.request({
        method: "PATCH",
        path: `/v1/messages/${id}`,
        headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ text }),
      });
      await response.body.text();
      return response.statusCode === 200;
    };
    setPhase("warmup");
    for (const m of sent.slice(options.edits)) await patch(m.id, "warm-up edit");
    await edit.sim.idle();
    await sleep(100);
    setPhase("edit");
    let okEdits = 0;
    for (const [i, m] of sent.slice(0, options.edits).entries()) {
      if (await patch(m.id, `capacity edit ${i}`)) okEdits++;
    }
    // Anything the edits left running (a release after the answer) still counts as theirs.
    await edit.sim.idle();
    await sleep(200);
    setPhase("done");

    const n = options.messages;
    const record = sumCapacity(capacity.filter((r) => r.phase === "record"));
    const duplicate = sumCapacity(capacity.filter((r) => r.phase === "duplicate"));
    const edits = sumCapacity(capacity.filter((r) => r.phase === "edit"));
    const size = sizes(heads);
    const wruPerMessage = record.write / n;
    const rows: Row[] = [
      {
        summary: "DynamoDB per recorded message: WRU, table + indexes (DynamoDB Local, measured)",
        metric: "recorded message: WRU (table + indexes), measured",
        value: wruPerMessage,
        unit: "WRU",
        digits: 2,
        goal: { op: "<=", limit: GOAL_WRU_PER_MESSAGE },
      },
      { metric: "recorded message: WRU by table / index", value: describeUnits(record, n) },
      { metric: "recorded message: RRU", value: record.read / n, unit: "RRU", digits: 2 },
      {
        summary: "DynamoDB per recorded message: requests (DynamoDB Local, measured)",
        metric: "recorded message: DynamoDB requests",
        value: wire.describe("record", n),
      },
      { metric: "recorded message: store calls", value: counted.describe("record", n) },
      {
        summary: "DynamoDB per recorded message: reads before the write (measured)",
        metric: "recorded message: first request a read (goal: none)",
        value: readFirst,
        digits: 0,
        goal: { op: "<=", limit: 0 },
      },
      {
        summary: "DynamoDB per duplicate callback: requests (DynamoDB Local, measured)",
        metric: "duplicate callback: DynamoDB requests",
        value: wire.total("duplicate") / n,
        digits: 2,
        goal: { op: "<=", limit: GOAL_CALLS_PER_DUPLICATE },
      },
      { metric: "duplicate callback: requests by API", value: wire.describe("duplicate", n) },
      { metric: "duplicate callback: store calls", value: counted.describe("duplicate", n) },
      {
        metric: "duplicate callback: capacity reported",
        value: `${(duplicate.write / n).toFixed(2)} WRU, ${(duplicate.read / n).toFixed(2)} RRU (a refused write reports none; billed as 1 WRU per started KB of the item, table only)`,
      },
      { metric: "callbacks answered OK: fresh / duplicate", value: `${okRecorded} / ${okDuplicate} of ${n}` },
      {
        summary:
          "stored bytes per short text message, index copies included (items read back, size computed by DynamoDB's rules)",
        metric: "stored bytes per short text message, incl. index copies (computed)",
        value: size.stored.max,
        unit: "B",
        digits: 0,
        goal: { op: "<=", limit: GOAL_STORED_BYTES },
      },
      {
        metric: "  of which head item / index entries / 100 B overheads",
        value: `${size.item.max} / ${size.indexDescription} / ${100 * (1 + size.indexes)} B`,
      },
      {
        metric: "  head item WRU by the rules vs measured",
        value: `${size.writeUnits.max} computed / ${wruPerMessage.toFixed(2)} measured`,
      },
      { metric: "heads read back", value: `${heads.length} of ${n}` },
      {
        summary: "store calls per edit, editor + echo (DynamoDB adapter, DynamoDB Local)",
        metric: "edit (editor + echo): store calls",
        value: counted.total("edit") / options.edits,
        digits: 2,
        goal: { op: "<=", limit: GOAL_STORE_CALLS_PER_EDIT },
      },
      { metric: "edit: store calls by method", value: counted.describe("edit", options.edits) },
      {
        summary: "DynamoDB per edit, editor + echo: requests (DynamoDB Local, measured)",
        metric: "edit: DynamoDB requests",
        value: wire.describe("edit", options.edits),
      },
      {
        summary: "DynamoDB per edit, editor + echo: WRU / RRU (DynamoDB Local, measured)",
        metric: "edit: WRU / RRU (table + indexes), measured",
        value: `${(edits.write / options.edits).toFixed(2)} WRU, ${(edits.read / options.edits).toFixed(2)} RRU`,
      },
      { metric: "edit: WRU by table / index", value: describeUnits(edits, options.edits) },
      { metric: "edits answered 200", value: `${okEdits} of ${options.edits}` },
      { metric: "spooled instead of stored", value: (await stack.spool.pending()).length, digits: 0 },
    ];
    return {
      title: "DynamoDB adapter on DynamoDB Local through the local stack (capacity observer + wire)",
      rows,
      notes: [
        `${n} fresh Tencent C2C after-send callbacks (the documented fixture, text "red packet"), POSTed one at a time to the local server; then each again (duplicates)`,
        "WRU/RRU: measured, the adapter's onCapacity observer (ReturnConsumedCapacity: INDEXES) on DynamoDB Local; a write refused by its condition reports nothing (the SDK error carries no capacity)",
        "DynamoDB requests: every HTTP request to DynamoDB Local by X-Amz-Target, from the node:http client channel (the store's and anything else's)",
        "stored bytes: the head items read back from DynamoDB Local (measured), sized by DynamoDB's published rules + 100 B per item and per index entry (computed, functions/adapters/dynamodb/size.ts); max over the messages",
        `edits: ${options.edits} messages sent through the simulator's sendmsg, each PATCHed once, sequentially; the simulator delivers the after-modify echo to the recorder before it answers; 3 warm-up edits not counted`,
        "the edit rate limiter is in memory on this stack (RATE_LIMITER=memory with DYNAMODB_ENDPOINT); in AWS the shared limiter adds its own table calls (see the cost benchmark)",
      ],
    };
  } finally {
    await http?.close();
    await edit?.close();
    wire.close();
    await dynamo.close();
  }
}
