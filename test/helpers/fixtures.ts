import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "fixtures");
type Provider = "tencent" | "netease";

/** A documented provider payload (synthetic ones lose their `_synthetic` note). */
export function fixture(provider: Provider, name: string): Record<string, unknown> {
  const { _synthetic, ...payload } = JSON.parse(
    readFileSync(join(root, provider, `${name}.json`), "utf8"),
  ) as Record<string, unknown>;
  return payload;
}

/** A payload's exact bytes, for signatures over the raw body (formatters must not touch these). */
export function fixtureBytes(provider: Provider, name: string): Buffer {
  return readFileSync(join(root, provider, name));
}

const NAMES: Record<Provider, string[]> = {
  tencent: [
    "c2c-before-send",
    "c2c-after-send",
    "group-before-send",
    "group-after-send",
    "c2c-after-withdraw",
    "group-after-recall",
    "c2c-after-modify",
    "group-after-modify",
    "synthetic-c2c-after-send-failed",
    "synthetic-c2c-after-send-legacy",
    "synthetic-c2c-after-withdraw-legacy",
    "synthetic-group-after-send-avchatroom",
    "synthetic-group-after-send-topic",
    "synthetic-group-send-exception",
  ],
  netease: [
    "copy-p2p-text",
    "copy-md5-vector",
    "synthetic-copy-team-picture",
    "synthetic-copy-superteam-custom",
    "synthetic-copy-notification",
    "synthetic-copy-custom-person",
    "synthetic-recall-p2p",
    "synthetic-recall-team-alt",
    "synthetic-copy-login",
  ],
};

export function fixtureNames(provider: Provider): string[] {
  return NAMES[provider];
}
