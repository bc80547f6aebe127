import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

export interface DynamoClientOptions {
  readonly region: string;
  /** Set for local stores; then static dummy credentials keep the SDK off the network's credential chain. */
  readonly endpoint?: string;
  /** Per-attempt socket budget, so a stuck store cannot eat a callback's 2 s. */
  readonly requestTimeoutMs?: number;
  readonly maxAttempts?: number;
}

export function createDocumentClient(options: DynamoClientOptions): DynamoDBDocumentClient {
  const base = new DynamoDBClient({
    region: options.region,
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: options.requestTimeoutMs ?? 2_000 },
    ...(options.endpoint !== undefined
      ? { endpoint: options.endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } }
      : {}),
  });
  return DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } });
}
