import { SQSClient } from "@aws-sdk/client-sqs";

export { SqsDeadLetters } from "./adapters/dead-letters/sqs.ts";
export { changeVisibility, SqsFallbackQueue, sendTask } from "./adapters/sqs.ts";

/**
 * The SQS side of the functions, imported on first use only (clients.ts `lazySqs`): a failing store (the
 * recorder's fallback) and an unknown outcome (the editor's delayed resolution) are the only senders.
 * Named imports, so the bundle keeps only the SQS commands used.
 */
export function createSqsClient(region: string): SQSClient {
  // Short timeouts: the fallback queue is the recorder's last resort inside Tencent's 2 s.
  return new SQSClient({
    region,
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 300, requestTimeout: 600 },
  });
}
