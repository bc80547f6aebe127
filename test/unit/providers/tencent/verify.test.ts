import { describe, expect, it } from "vitest";
import { ForbiddenError, UnauthorizedError } from "../../../../functions/core/errors.ts";
import { tencentSign, verifyTencentQuery } from "../../../../functions/providers/tencent/verify.ts";

const auth = { sdkAppId: "1400000000", callbackToken: "xxxxyyyy", maxSkewSeconds: 60 };
const at = (seconds: number) => new Date(seconds * 1000);

describe("tencentSign", () => {
  it("matches the documented example (tencent-chat-notes §1.3)", () => {
    expect(tencentSign("xxxxyyyy", "1669872112")).toBe(
      "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061",
    );
  });
});

describe("verifyTencentQuery", () => {
  const signed = {
    SdkAppid: "1400000000",
    RequestTime: "1669872112",
    Sign: tencentSign("xxxxyyyy", "1669872112"),
  };

  it("accepts a fresh, correctly signed callback", () => {
    expect(() => verifyTencentQuery(signed, auth, at(1669872112 + 30))).not.toThrow();
  });

  it("accepts an upper-case hex signature", () => {
    expect(() =>
      verifyTencentQuery({ ...signed, Sign: signed.Sign.toUpperCase() }, auth, at(1669872112)),
    ).not.toThrow();
  });

  it("refuses a foreign SdkAppid with 403", () => {
    expect(() => verifyTencentQuery({ ...signed, SdkAppid: "1400000001" }, auth, at(1669872112))).toThrow(
      ForbiddenError,
    );
  });

  it("refuses a missing SdkAppid with 401", () => {
    const { SdkAppid: _, ...rest } = signed;
    expect(() => verifyTencentQuery(rest, auth, at(1669872112))).toThrow(UnauthorizedError);
  });

  it.each([
    ["a wrong signature", { ...signed, Sign: "0".repeat(64) }],
    ["a truncated signature", { ...signed, Sign: signed.Sign.slice(0, 10) }],
    ["no signature", { SdkAppid: "1400000000", RequestTime: "1669872112" }],
    ["no RequestTime", { SdkAppid: "1400000000", Sign: signed.Sign }],
    ["a non-numeric RequestTime", { ...signed, RequestTime: "soon" }],
  ])("refuses %s with 401", (_, query) => {
    expect(() => verifyTencentQuery(query, auth, at(1669872112))).toThrow(UnauthorizedError);
  });

  it("refuses a signature older or newer than the window", () => {
    expect(() => verifyTencentQuery(signed, auth, at(1669872112 + 61))).toThrow(/outside the allowed window/);
    expect(() => verifyTencentQuery(signed, auth, at(1669872112 - 61))).toThrow(UnauthorizedError);
  });

  it("never puts the token or the expected signature in the error", () => {
    try {
      verifyTencentQuery({ ...signed, Sign: "0".repeat(64) }, auth, at(1669872112));
      expect.unreachable();
    } catch (error: unknown) {
      const text = JSON.stringify(error) + String(error);
      expect(text).not.toContain("xxxxyyyy");
      expect(text).not.toContain(signed.Sign);
    }
  });

  it("checks only the app id when no token is configured", () => {
    const open = { sdkAppId: "1400000000", maxSkewSeconds: 60 };
    expect(() => verifyTencentQuery({ SdkAppid: "1400000000" }, open, at(0))).not.toThrow();
    expect(() => verifyTencentQuery({ SdkAppid: "1" }, open, at(0))).toThrow(ForbiddenError);
  });
});
