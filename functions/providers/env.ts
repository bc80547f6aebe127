import * as z from "../zod.ts";

/** Env value types shared by config.ts and the providers' config fragments (their manifests). */
export const flag = z.pipe(
  z.enum(["true", "false", "1", "0"]),
  z.transform((v: "true" | "false" | "1" | "0") => v === "true" || v === "1"),
);
export const positiveInt = z.coerce.number().check(z.int(), z.positive());

export type Env = Readonly<Record<string, string | undefined>>;

export const blank = (value: string | undefined): boolean => value === undefined || value.trim() === "";
