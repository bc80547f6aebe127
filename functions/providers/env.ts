import * as z from "zod";

/** Env value types shared by config.ts and the providers' config fragments (their manifests). */
export const flag = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
export const positiveInt = z.coerce.number().int().positive();

export type Env = Readonly<Record<string, string | undefined>>;

export const blank = (value: string | undefined): boolean => value === undefined || value.trim() === "";
