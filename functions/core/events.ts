import { createHash } from "node:crypto";

/**
 * The identity of a provider event: a digest of the callback's raw bytes. A byte-identical redelivery
 * (a provider retry, a fallback replay) has the same key and is recorded once.
 */
export const eventKeyOf = (body: Uint8Array): string =>
  createHash("sha256").update(body).digest("base64url").slice(0, 22);
