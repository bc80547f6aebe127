import { BadRequestError } from "./core/errors.ts";
import { jsonProblem } from "./json.ts";
import * as z from "./zod.ts";

/**
 * Parses input with a schema; a violation is a 400 whose `details` are zod's flattened errors (by top-level
 * field) plus every issue with its whole path (`selector.appId`), which nested bodies need to be useful.
 */
export function parseWith<T extends z.core.$ZodType>(schema: T, input: unknown, message: string): z.infer<T> {
  const result = z.safeParse(schema, input);
  if (!result.success) {
    const issues = result.error.issues.slice(0, 20).map((issue) => ({
      path: issue.path.map(String).join("."),
      message: issue.message,
    }));
    const first = issues[0];
    throw new BadRequestError(first ? `${message}: ${first.path || "(body)"}: ${first.message}` : message, {
      code: "validation_failed",
      details: { ...z.flattenError(result.error), issues },
    });
  }
  return result.data;
}

/**
 * A non-empty string of at most `maxBytes` bytes of UTF-8. Identifiers are bounded in bytes, not
 * characters: they end up in DynamoDB keys (2048 bytes for a partition key), percent-encoded in
 * conversation ids, where one character can take 12 bytes.
 */
export const boundedString = (maxBytes: number) =>
  z.string().check(
    z.minLength(1),
    z.refine((value) => Buffer.byteLength(value) <= maxBytes, `must be at most ${maxBytes} bytes of UTF-8`),
  );

/** Adds an issue when a value that will be stored holds what the store cannot keep (json.ts `jsonProblem`). */
export function storable(
  value: unknown,
  context: { addIssue(issue: { code: "custom"; message: string }): void },
) {
  const problem = jsonProblem(value, { storable: true });
  if (problem !== undefined) context.addIssue({ code: "custom", message: problem });
}

/**
 * The latest provider time im-edit accepts, in ms since the epoch: the end of Tencent's unsigned 32-bit
 * seconds (2106-02-07T06:28:15Z). Provider clocks never get there; anything later is garbage, and values
 * past 8.64e15 would even make `Date` throw.
 */
export const MAX_EPOCH_MS = 4_294_967_295_000;
