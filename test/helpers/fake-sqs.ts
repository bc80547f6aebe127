import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A message attribute as SendMessage sends it on the wire. */
export interface WireAttribute {
  readonly DataType: string;
  readonly StringValue?: string;
}

/** A SendMessage request as it arrives. */
export interface WireMessage {
  readonly QueueUrl: string;
  readonly MessageBody: string;
  readonly MessageAttributes?: Readonly<Record<string, WireAttribute>>;
  readonly DelaySeconds?: number;
}

export interface FakeSqs {
  readonly url: string;
  /** The messages taken, in arrival order. */
  readonly messages: WireMessage[];
  /** Refuse every SendMessage with this error type (e.g. `AWS.SimpleQueueService.NonExistentQueue`). */
  failWith: string | undefined;
  close(): Promise<void>;
}

/** SQS's limits on message attributes: 10 of them, names of these characters, no empty values. */
const MAX_ATTRIBUTES = 10;
const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]{1,256}$/;

/**
 * SQS's SendMessage on loopback, speaking its JSON protocol (AWS JSON 1.0, `X-Amz-Target:
 * AmazonSQS.SendMessage`): it refuses what SQS refuses about attributes (more than 10, bad names, empty
 * values, unknown data types) and unsigned requests, and answers with the body's MD5 (the SDK checks it).
 */
export async function startFakeSqs(): Promise<FakeSqs> {
  const fake: Omit<FakeSqs, "url" | "close"> = { messages: [], failWith: undefined };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      answer(res, 500, { __type: "InternalError", message: String(error) });
    });
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    if (req.headers["x-amz-target"] !== "AmazonSQS.SendMessage") {
      return answer(res, 400, { __type: "com.amazonaws.sqs#UnsupportedOperation" });
    }
    if (!String(req.headers["content-type"]).startsWith("application/x-amz-json-1.0")) {
      return answer(res, 400, { __type: "com.amazonaws.sqs#InvalidParameterValue", message: "content type" });
    }
    if (!String(req.headers.authorization ?? "").startsWith("AWS4-HMAC-SHA256 ")) {
      return answer(res, 400, { __type: "MissingAuthenticationTokenException" });
    }
    if (fake.failWith !== undefined) return answer(res, 400, { __type: fake.failWith, message: "fake" });
    const message = JSON.parse(Buffer.concat(chunks).toString("utf8")) as WireMessage;
    const problem = attributeProblem(message.MessageAttributes ?? {});
    if (problem)
      return answer(res, 400, { __type: "com.amazonaws.sqs#InvalidAttributeValue", message: problem });
    fake.messages.push(message);
    answer(res, 200, {
      MessageId: randomUUID(),
      MD5OfMessageBody: createHash("md5").update(message.MessageBody, "utf8").digest("hex"),
    });
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

function attributeProblem(attributes: Readonly<Record<string, WireAttribute>>): string | undefined {
  const entries = Object.entries(attributes);
  if (entries.length > MAX_ATTRIBUTES) return `${entries.length} attributes: at most ${MAX_ATTRIBUTES}`;
  for (const [name, value] of entries) {
    if (!ATTRIBUTE_NAME.test(name) || name.toLowerCase().startsWith("aws.")) return `bad name ${name}`;
    if (value.DataType !== "String" && value.DataType !== "Number")
      return `${name}: data type ${value.DataType}`;
    if (!value.StringValue) return `${name}: empty value`;
    if (value.DataType === "Number" && !Number.isFinite(Number(value.StringValue)))
      return `${name}: not a number`;
  }
  return undefined;
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/x-amz-json-1.0" });
  res.end(JSON.stringify(body));
}
