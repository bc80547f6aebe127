import { afterEach, describe, expect, it } from "vitest";
import {
  NotFoundError,
  OutcomeUnknownError,
  ProviderRejectedError,
  ProviderUnavailableError,
} from "../../../../functions/core/errors.ts";
import { SlidingWindowLimiter } from "../../../../functions/core/limiter.ts";
import { TencentRestClient } from "../../../../functions/providers/tencent/rest.ts";
import { UserSigCache } from "../../../../functions/providers/tencent/usersig.ts";
import { rendered } from "../../../helpers/errors.ts";
import { type Script, scriptedServer } from "../../../helpers/scripted-server.ts";

const fail = (code: number) => ({
  json: { ActionStatus: "FAIL", ErrorCode: code, ErrorInfo: `error ${code}` },
});
const ok = { json: { ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "succeed", RequestId: "Id-1" } };

let servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

async function client(script: Script[], base?: string) {
  const server = await scriptedServer(script);
  servers.push(server);
  const userSig = new UserSigCache("1400000000", "secret", "administrator");
  const rest = new TencentRestClient({
    baseUrl: base ?? `${server.url}/prefix`,
    sdkAppId: "1400000000",
    identifier: "administrator",
    userSig,
    limiter: new SlidingWindowLimiter(() => ({ limit: 1000, windowMs: 1000 })),
  });
  return { rest, server, userSig };
}

const modify = { deadline: Date.now() + 4_000, resendAfterSend: false };
const deadline = () => ({ deadline: Date.now() + 4_000, resendAfterSend: false });

describe("TencentRestClient", () => {
  it("posts the body to /v4/<service>/<command> with the documented query parameters", async () => {
    // Prepare
    const { rest, server, userSig } = await client([ok]);
    // Act
    const reply = await rest.call("openim", "modify_c2c_msg", { MsgKey: "1_2_3" }, modify);
    // Assess
    const [request] = server.received;
    expect(reply.RequestId).toBe("Id-1");
    expect(request?.url.pathname).toBe("/prefix/v4/openim/modify_c2c_msg");
    expect(Object.fromEntries(request?.url.searchParams ?? [])).toEqual({
      sdkappid: "1400000000",
      identifier: "administrator",
      usersig: userSig.get(),
      random: expect.stringMatching(/^\d+$/),
      contenttype: "json",
    });
    expect(Number(request?.url.searchParams.get("random"))).toBeLessThanOrEqual(4_294_967_295);
    expect(request?.body).toEqual({ MsgKey: "1_2_3" });
  });

  it("uses a fresh random per call", async () => {
    const { rest, server } = await client([ok, ok, ok]);
    for (let i = 0; i < 3; i++) await rest.call("openim", "modify_c2c_msg", {}, deadline());
    expect(new Set(server.received.map((r) => r.url.searchParams.get("random"))).size).toBe(3);
  });

  // Issue 13 defect 3: answers that do not say whether a modify was applied are unknown outcomes.
  it.each([60008, 90992, 91000, 20005, 20004, 70169, 70500, 10002])(
    "reports ErrorCode %i to a modify as an unknown outcome, without resending it",
    async (code) => {
      const { rest, server } = await client([fail(code), ok]);
      const error = await rest.call("openim", "modify_c2c_msg", {}, deadline()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OutcomeUnknownError);
      expect(rendered(error)).toMatchObject({
        status: 504,
        providerCode: code,
        details: { outcome: "unknown", providerCode: code },
      });
      expect(server.received).toHaveLength(1);
    },
  );

  it("retries the same ambiguous codes on reads, then succeeds", async () => {
    const { rest, server } = await client([fail(60008), fail(20004), fail(91000), fail(90992), ok]);
    const read = { deadline: Date.now() + 4_000, resendAfterSend: true };
    await expect(rest.call("openim", "admin_getroammsg", {}, read)).resolves.toMatchObject({
      ErrorCode: 0,
    });
    expect(server.received).toHaveLength(5);
  });

  it("retries a modify after definite refusals (20028 conflict, 60007 rate), then succeeds", async () => {
    const { rest, server } = await client([fail(20028), fail(60007), ok]);
    await expect(rest.call("openim", "modify_c2c_msg", {}, deadline())).resolves.toMatchObject({
      ErrorCode: 0,
    });
    expect(server.received).toHaveLength(3);
  });

  it("says unknown, not 'nothing applied', when an ambiguous answer follows definite refusals", async () => {
    const { rest, server } = await client([fail(60007), fail(20028), fail(60008), ok]);
    const error = await rest.call("openim", "modify_c2c_msg", {}, deadline()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutcomeUnknownError);
    expect(server.received).toHaveLength(3);
  });

  it("never retries a definite refusal", async () => {
    const { rest, server } = await client([fail(20022)]);
    const error = await rest.call("openim", "modify_c2c_msg", {}, deadline()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).providerCode).toBe(20022);
    expect(server.received).toHaveLength(1);
  });

  it("renews the UserSig once on 70001, then reports a configuration problem", async () => {
    const { rest, server } = await client([fail(70001), fail(70001)]);
    const error = await rest.call("openim", "modify_c2c_msg", {}, deadline()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderRejectedError);
    expect(server.received).toHaveLength(2);
  });

  it("reports 503 with Retry-After when definite refusals outlast the budget, after at least 2 retries", async () => {
    const { rest, server } = await client(Array.from({ length: 50 }, () => fail(20028)));
    const error = await rest
      .call("openim", "modify_c2c_msg", {}, { deadline: Date.now() + 1_500, resendAfterSend: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect((error as ProviderUnavailableError).retryAfter).toBeGreaterThan(0);
    expect(server.received.length).toBeGreaterThanOrEqual(3);
  });

  it("reports 503 for reads whose ambiguous answers outlast the budget", async () => {
    const { rest } = await client(Array.from({ length: 50 }, () => fail(20005)));
    const error = await rest
      .call("openim", "admin_getroammsg", {}, { deadline: Date.now() + 1_000, resendAfterSend: true })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
  });

  it("reports an unknown outcome when a modify was sent but not answered, and does not resend it", async () => {
    const { rest, server } = await client(["reset"]);
    const error = await rest.call("openim", "modify_c2c_msg", {}, deadline()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutcomeUnknownError);
    expect(server.received).toHaveLength(1);
  });

  it("treats an HTTP 5xx on a modify as unknown and resends reads", async () => {
    const { rest } = await client([{ status: 502 }]);
    await expect(rest.call("openim", "modify_c2c_msg", {}, deadline())).rejects.toThrow(OutcomeUnknownError);
    const reads = await client([{ status: 502 }, "reset", ok]);
    await expect(
      reads.rest.call(
        "openim",
        "admin_getroammsg",
        {},
        { deadline: Date.now() + 4_000, resendAfterSend: true },
      ),
    ).resolves.toMatchObject({ ErrorCode: 0 });
  });

  it("retries connection failures (nothing was sent), then gives 503", async () => {
    const { rest } = await client([], "http://127.0.0.1:9");
    const error = await rest
      .call("openim", "modify_c2c_msg", {}, { deadline: Date.now() + 800, resendAfterSend: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(String((error as Error).message)).toMatch(/before sending/);
  });

  it("keeps the UserSig out of errors", async () => {
    const { rest, userSig } = await client(["reset"]);
    const error = await rest.call("openim", "modify_c2c_msg", {}, deadline()).catch((e: unknown) => e);
    expect(JSON.stringify(error) + String(error)).not.toContain(userSig.get());
  });
});
