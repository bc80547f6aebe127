import type { ConsumedCapacity } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  DeleteCommand,
  type DeleteCommandInput,
  type DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  UpdateCommand,
  type UpdateCommandInput,
  type UpdateCommandOutput,
} from "@aws-sdk/lib-dynamodb";
import { StoreUnavailableError } from "../../core/errors.ts";

/**
 * Every store call goes through here: condition failures pass through for the callers that expect
 * them; anything else (network, throttling, timeouts) becomes a StoreUnavailableError (503, or spool).
 */
export async function guard<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error: unknown) {
    if (isConditionFailure(error)) throw error;
    const name = error instanceof Error ? error.name : "Error";
    throw new StoreUnavailableError(`the message store is unavailable (${name})`, {
      retryAfter: 1,
      cause: error,
    });
  }
}

/** Runs a conditional write: true when it happened, false when its condition did not hold. */
export async function conditionally(call: Promise<unknown>): Promise<boolean> {
  try {
    await guard(call);
    return true;
  } catch (error: unknown) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

export function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === "ConditionalCheckFailedException";
}

/**
 * Told what each successful call consumed, table and indexes apart (`ReturnConsumedCapacity: INDEXES`).
 * Writes refused by their condition report nothing: the SDK's ConditionalCheckFailedException carries no
 * capacity (DynamoDB bills them as a write of the item's size).
 */
export type CapacityObserver = (operation: string, consumed: readonly ConsumedCapacity[]) => void;

type Bare<T> = Omit<T, "TableName" | "ReturnConsumedCapacity">;

/** One table's calls: the table name, the capacity report and the error mapping in one place. */
export class TableCalls {
  constructor(
    readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly onCapacity?: CapacityObserver,
  ) {}

  async get(operation: string, input: Bare<GetCommandInput>): Promise<Record<string, unknown> | undefined> {
    const output = await guard(this.client.send(new GetCommand({ ...input, ...this.common() })));
    this.report(operation, output.ConsumedCapacity);
    return output.Item;
  }

  /** A conditional put: false when the condition did not hold. */
  async put(operation: string, input: Bare<PutCommandInput>): Promise<boolean> {
    return this.conditional(operation, () =>
      this.client.send(new PutCommand({ ...input, ...this.common() })),
    );
  }

  /** A put whose condition failure is thrown (the caller reads the exception's old item). */
  async putOrThrow(operation: string, input: Bare<PutCommandInput>): Promise<void> {
    const output = await guard(this.client.send(new PutCommand({ ...input, ...this.common() })));
    this.report(operation, output.ConsumedCapacity);
  }

  /** A conditional update: its output, or undefined when the condition did not hold. */
  async update(operation: string, input: Bare<UpdateCommandInput>): Promise<UpdateCommandOutput | undefined> {
    try {
      const output = await guard(this.client.send(new UpdateCommand({ ...input, ...this.common() })));
      this.report(operation, output.ConsumedCapacity);
      return output;
    } catch (error: unknown) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async delete(operation: string, input: Bare<DeleteCommandInput>): Promise<boolean> {
    return this.conditional(operation, () =>
      this.client.send(new DeleteCommand({ ...input, ...this.common() })),
    );
  }

  async query(operation: string, input: Bare<QueryCommandInput>): Promise<QueryCommandOutput> {
    const output = await guard(this.client.send(new QueryCommand({ ...input, ...this.common() })));
    this.report(operation, output.ConsumedCapacity);
    return output;
  }

  /**
   * Reads items by key, consistently, in batches of 100 (BatchGetItem's limit), retrying what DynamoDB
   * left unprocessed (throttling) with a short backoff; items that do not exist are simply absent.
   */
  async batchGet(
    operation: string,
    keys: readonly Record<string, string>[],
    projection?: { readonly expression: string; readonly names: Record<string, string> },
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    for (let start = 0; start < keys.length; start += BATCH_GET_LIMIT) {
      let pending: Record<string, unknown>[] | undefined = keys.slice(start, start + BATCH_GET_LIMIT);
      for (let attempt = 0; pending && pending.length > 0; attempt++) {
        if (attempt > 0) {
          if (attempt > BATCH_GET_RETRIES) {
            throw new StoreUnavailableError("the message store is unavailable (unprocessed keys)", {
              retryAfter: 1,
            });
          }
          await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt));
        }
        const output: BatchGetCommandOutput = await guard(
          this.client.send(
            new BatchGetCommand({
              RequestItems: {
                [this.tableName]: {
                  Keys: pending,
                  ConsistentRead: true,
                  ...(projection
                    ? {
                        ProjectionExpression: projection.expression,
                        ExpressionAttributeNames: projection.names,
                      }
                    : {}),
                },
              },
              ...(this.onCapacity ? { ReturnConsumedCapacity: "INDEXES" as const } : {}),
            }),
          ),
        );
        if (this.onCapacity && output.ConsumedCapacity) this.onCapacity(operation, output.ConsumedCapacity);
        items.push(...(output.Responses?.[this.tableName] ?? []));
        pending = output.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return items;
  }

  private async conditional(
    operation: string,
    send: () => Promise<{ ConsumedCapacity?: ConsumedCapacity | undefined }>,
  ): Promise<boolean> {
    try {
      const output = await guard(send());
      this.report(operation, output.ConsumedCapacity);
      return true;
    } catch (error: unknown) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private common(): { TableName: string; ReturnConsumedCapacity?: "INDEXES" } {
    return this.onCapacity
      ? { TableName: this.tableName, ReturnConsumedCapacity: "INDEXES" }
      : { TableName: this.tableName };
  }

  private report(operation: string, consumed: ConsumedCapacity | undefined): void {
    if (this.onCapacity && consumed) this.onCapacity(operation, [consumed]);
  }
}

const BATCH_GET_LIMIT = 100;
const BATCH_GET_RETRIES = 5;
