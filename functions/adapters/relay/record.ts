import { PROVIDER_NAME_PATTERN, type ProviderName } from "../../core/model.ts";
import type { Forward as ForwardPort } from "../../core/relay.ts";
import * as z from "../../zod.ts";

/**
 * A forward as it travels (an SQS message body, a local queue file, a dead letter): checked before it is
 * delivered, so a message that is not one is a poison message, never a request to some half-read URL.
 */
export const Forward = z.object({
  provider: z.pipe(
    z.string().check(z.regex(PROVIDER_NAME_PATTERN)),
    z.transform((name) => name as ProviderName),
  ),
  id: z.string().check(z.regex(/^[0-9a-f]{32}$/)),
  rawQuery: z.string(),
  headers: z.record(z.string(), z.string()),
  body: z.string().check(z.regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64")),
  sourceIp: z.exactOptional(z.string()),
  messageId: z.exactOptional(z.string()),
  receivedAt: z.string(),
});
export type Forward = z.infer<typeof Forward>;

/** The parsed record is the port's Forward (kept in step by the compiler). */
const _sameShape: (value: Forward) => ForwardPort = (value) => value;
void _sameShape;

/** A value as a Forward, or undefined when it is not one. */
export function parseForward(value: unknown): ForwardPort | undefined {
  const result = z.safeParse(Forward, value);
  return result.success ? result.data : undefined;
}
