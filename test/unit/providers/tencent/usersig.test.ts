import { inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { USERSIG_TTL_SECONDS, UserSigCache } from "../../../../functions/providers/tencent/usersig.ts";

/** Decodes a UserSig (base64 with * - _ for + / =, zlib, JSON) per tencent-chat-notes §7.2. */
function decode(sig: string): Record<string, unknown> {
  const base64 = sig.replaceAll("*", "+").replaceAll("-", "/").replaceAll("_", "=");
  return JSON.parse(inflateSync(Buffer.from(base64, "base64")).toString("utf8")) as Record<string, unknown>;
}

describe("UserSigCache", () => {
  it("signs for the admin with at least 24 h of validity", () => {
    const doc = decode(new UserSigCache("1400000000", "key", "administrator").get());
    expect(doc).toMatchObject({
      "TLS.identifier": "administrator",
      "TLS.sdkappid": 1400000000,
      "TLS.ver": "2.0",
    });
    expect(Number(doc["TLS.expire"])).toBeGreaterThanOrEqual(24 * 3600);
    expect(USERSIG_TTL_SECONDS).toBe(Number(doc["TLS.expire"]));
  });

  it("reuses the signature until half its life, then renews; invalidate() renews at once", () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const cache = new UserSigCache("1400000000", "key", "administrator", () => now, 100);
    const first = cache.get();
    now += 49_000;
    expect(cache.get()).toBe(first);
    now += 2_000;
    const renewed = cache.get();
    expect(cache.get()).toBe(renewed);
    cache.invalidate();
    // A new signature object (tls-sig-api-v2 stamps the wall clock, so compare by identity of the call).
    expect(decode(cache.get())["TLS.identifier"]).toBe("administrator");
  });
});
