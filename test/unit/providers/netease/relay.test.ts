import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MisconfiguredError } from "../../../../functions/core/errors.ts";
import { createNeteaseProvider } from "../../../../functions/providers/netease/provider.ts";
import { neteaseRelay } from "../../../../functions/providers/netease/relay.ts";
import { md5Hex, sha1Hex, verifyNeteaseCopy } from "../../../../functions/providers/netease/verify.ts";
import { APP_KEY, copyRequest, neteaseProvider } from "../../../helpers/netease.ts";

/** The documented copy (netease-yunxin-notes §3.2), byte for byte: its MD5 is d4262973…. */
const VECTOR = readFileSync(new URL("../../../fixtures/netease/copy-md5-vector.body.txt", import.meta.url));
const relay = neteaseRelay({ url: "https://app.example/copy", appSecret: "app-secret" });

describe("neteaseRelay", () => {
  it("keeps Yunxin's signature headers; never synchronous; nothing to decide", () => {
    expect(relay.headers).toEqual(["appkey", "curtime", "md5", "checksum"]);
    expect(relay.synchronous(copyRequest({ eventType: "1" }))).toBe(false);
    expect(relay.decision).toBeUndefined();
  });

  it("signs afresh: CurTime now (ms), MD5 of the unchanged body, CheckSum = sha1(AppSecret + MD5 + CurTime)", () => {
    // Prepare: the headers as received (signed by Yunxin with im-edit's secret, long ago).
    const received = {
      appkey: APP_KEY,
      curtime: "1",
      md5: "old",
      checksum: "old",
      "content-type": "application/json",
    };
    const now = new Date(1_700_000_000_123);

    // Act
    const signed = relay.sign({ rawQuery: "a=1", headers: received, body: VECTOR }, now);

    // Assess: the documented MD5, a CheckSum the app verifies with its own secret, the rest untouched.
    expect(signed.rawQuery).toBe("a=1");
    expect(signed.headers).toEqual({
      appkey: APP_KEY,
      "content-type": "application/json",
      curtime: "1700000000123",
      md5: "d4262973f27df1e4a6438493a20360f4",
      checksum: sha1Hex(`app-secret${"d4262973f27df1e4a6438493a20360f4"}1700000000123`),
    });
    expect(md5Hex(VECTOR)).toBe("d4262973f27df1e4a6438493a20360f4");
    expect(() =>
      verifyNeteaseCopy(
        signed.headers,
        VECTOR,
        { appKey: APP_KEY, appSecret: "app-secret", maxSkewMs: 1000 },
        now,
      ),
    ).not.toThrow();
  });

  it("each attempt gets its own CurTime and CheckSum", () => {
    const first = relay.sign({ rawQuery: "", headers: {}, body: VECTOR }, new Date(1000));
    const later = relay.sign({ rawQuery: "", headers: {}, body: VECTOR }, new Date(2000));
    expect(first.headers.curtime).toBe("1000");
    expect(later.headers.curtime).toBe("2000");
    expect(later.headers.checksum).not.toBe(first.headers.checksum);
  });

  it("an unusable secret refuses the forward, never signs with an empty key", () => {
    const refused = neteaseRelay({ url: "https://app.example/copy", unusable: "NETEASE_FORWARD_APP_SECRET" });
    const sign = () => refused.sign({ rawQuery: "", headers: {}, body: VECTOR }, new Date());
    expect(sign).toThrow(MisconfiguredError);
    expect(sign).toThrow(/NETEASE_FORWARD_APP_SECRET/);
    const empty = neteaseRelay({ url: "https://app.example/copy", appSecret: "" });
    expect(() => empty.sign({ rawQuery: "", headers: {}, body: VECTOR }, new Date())).toThrow(
      MisconfiguredError,
    );
  });

  it("the NetEase provider has it with NETEASE_CALLBACK_FORWARD_URL, not without", () => {
    expect(neteaseProvider().relay).toBeUndefined();
    const forwarding = createNeteaseProvider({
      appKey: APP_KEY,
      appSecret: "s",
      maxSkewMs: 1000,
      forward: { url: "https://app.example/copy", appSecret: "s" },
    });
    expect(forwarding.relay?.url).toBe("https://app.example/copy");
  });
});
