import { z } from "zod";
import { BadRequestError } from "./core/errors.ts";

/** Parses input with a schema; a violation is a 400 whose `details` are zod's flattened errors. */
export function parseWith<T extends z.ZodType>(schema: T, input: unknown, message: string): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new BadRequestError(message, { code: "validation_failed", details: z.flattenError(result.error) });
  }
  return result.data;
}
