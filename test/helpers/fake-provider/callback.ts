import { createHmac, timingSafeEqual } from "node:crypto";
import * as z from "zod";

/**
 * The fake provider's callback: a JSON body signed with HMAC-SHA256 of the raw bytes under the app's
 * secret, `x-fake-signature: sha256=<hex>`. Not any real provider's format, on purpose: the manifest is
 * all im-edit learns about it.
 */
export const FakeCallback = z.object({
  app: z.string().min(1),
  type: z.enum(["message.sent", "message.edited"]),
  id: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
  from: z.string().min(1),
  to: z.string().min(1),
  text: z.string(),
  /** The app's custom data, a JSON string. */
  data: z.string().optional(),
  /** Provider time (epoch ms). */
  at: z.number().int().positive(),
  /** Who edited (message.edited). */
  by: z.string().optional(),
});
export type FakeCallback = z.infer<typeof FakeCallback>;

export const SIGNATURE_HEADER = "x-fake-signature";

export const fakeSignature = (secret: string, body: string | Buffer): string =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

export function signatureMatches(secret: string, body: Buffer, given: string | undefined): boolean {
  if (given === undefined) return false;
  const expected = Buffer.from(fakeSignature(secret, body));
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
