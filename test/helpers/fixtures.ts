import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "fixtures");

/** A documented provider payload (synthetic ones lose their `_synthetic` note). */
export function fixture(provider: "tencent", name: string): Record<string, unknown> {
  const { _synthetic, ...payload } = JSON.parse(
    readFileSync(join(root, provider, `${name}.json`), "utf8"),
  ) as Record<string, unknown>;
  return payload;
}

export function fixtureNames(provider: "tencent"): string[] {
  return [
    "c2c-before-send",
    "c2c-after-send",
    "group-before-send",
    "group-after-send",
    "c2c-after-withdraw",
    "group-after-recall",
    "c2c-after-modify",
    "group-after-modify",
  ]
    .concat([
      "synthetic-c2c-after-send-failed",
      "synthetic-c2c-after-send-legacy",
      "synthetic-c2c-after-withdraw-legacy",
      "synthetic-group-after-send-avchatroom",
      "synthetic-group-after-send-topic",
      "synthetic-group-send-exception",
    ])
    .filter((name) => provider === "tencent" && name.length > 0);
}
