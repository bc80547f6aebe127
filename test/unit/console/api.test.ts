import { describe, expect, it } from "vitest";
import { Api, ApiError, explain, type Fetcher } from "../../../console/src/api.ts";
import { tokenFetcher } from "../../../console/src/auth/token.ts";

interface Call {
  readonly url: URL;
  readonly method: string;
  readonly headers: Headers;
  readonly body: unknown;
}

const record = {
  id: "c2c_3kk3ymeh3bilp4bnx5mwsbu5xv",
  provider: "tencent",
  appId: "1400000000",
  kind: "c2c",
  key: { from: "a", to: "b", msgKey: "1_2_3" },
  conversation: "c2c:a:b",
  state: "sent",
  version: 3,
  content: { MsgBody: [] },
  editable: true,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
};

/** An Api whose transport records each call and answers with the next of `answers`. */
function scripted(...answers: Array<{ status: number; body?: unknown; headers?: Record<string, string> }>) {
  const calls: Call[] = [];
  const fetcher: Fetcher = async (url, init) => {
    calls.push({
      url: new URL(url),
      method: init.method ?? "GET",
      headers: new Headers(init.headers),
      body: typeof init.body === "string" ? JSON.parse(init.body) : undefined,
    });
    const answer = answers.shift() ?? { status: 500 };
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
      status: answer.status,
      headers: { "content-type": "application/json", ...answer.headers },
    });
  };
  return { api: new Api("http://127.0.0.1:3000", fetcher), calls };
}

const errorBody = (code: string, message: string) => ({ error: { code, message } });

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
  return error;
}

describe("console API client", () => {
  it("edits with If-Match of the shown version, an Idempotency-Key and a JSON body", async () => {
    // Prepare
    const { api, calls } = scripted({ status: 200, body: { ...record, version: 4 } });
    // Act
    const updated = await api.edit(record.id, { text: "new" }, { ifMatch: 3, idempotencyKey: "k-1" });
    // Assess
    expect(updated.version).toBe(4);
    const call = calls[0];
    expect(call?.method).toBe("PATCH");
    expect(call?.url.pathname).toBe(`/v1/messages/${record.id}`);
    expect(call?.headers.get("if-match")).toBe('"3"');
    expect(call?.headers.get("idempotency-key")).toBe("k-1");
    expect(call?.headers.get("content-type")).toBe("application/json");
    expect(call?.body).toEqual({ text: "new" });
  });

  it("restores with the version in the body, purges with the reason, and lists with the filters given", async () => {
    // Prepare
    const { api, calls } = scripted(
      { status: 200, body: record },
      { status: 200, body: { id: record.id, purged: 2 } },
      { status: 200, body: { items: [record], nextToken: "n2" } },
    );
    // Act
    await api.restore(record.id, 1, { ifMatch: 3, idempotencyKey: "k-2" });
    const purged = await api.purge(record.id, "personal data");
    const page = await api.listMessages({
      provider: "tencent",
      appId: "1400000000",
      sender: "a",
      nextToken: "n1",
    });
    // Assess
    expect(calls[0]?.url.pathname).toBe(`/v1/messages/${record.id}/restore`);
    expect(calls[0]?.body).toEqual({ version: 1 });
    expect(calls[1]?.method).toBe("DELETE");
    expect(calls[1]?.body).toEqual({ reason: "personal data" });
    expect(purged.purged).toBe(2);
    expect(Object.fromEntries(calls[2]?.url.searchParams ?? [])).toEqual({
      provider: "tencent",
      appId: "1400000000",
      sender: "a",
      nextToken: "n1",
      limit: "25",
    });
    expect(page.nextToken).toBe("n2");
  });

  it("looks a key up with the README's parameters, and pages versions and jobs", async () => {
    // Prepare
    const { api, calls } = scripted(
      { status: 200, body: record },
      { status: 200, body: { items: [] } },
      { status: 200, body: { items: [] } },
    );
    // Act
    await api.findByKey("tencent", "1400000000", { msgKey: "1_2_3", from: "a", to: "b" });
    await api.versions(record.id, "t1");
    await api.listJobs();
    // Assess
    expect(calls[0]?.url.search).toBe("?provider=tencent&appId=1400000000&msgKey=1_2_3&from=a&to=b");
    expect(calls[1]?.url.search).toBe("?limit=20&nextToken=t1");
    expect(calls[2]?.url.pathname).toBe("/v1/edits");
  });

  it("starts, reads, cancels and resumes jobs", async () => {
    // Prepare
    const job = {
      id: "job_1",
      kind: "edit",
      status: "cancelled",
      dryRun: false,
      matched: 3,
      done: 1,
      failed: 0,
      skipped: 0,
      ratePerSec: 0,
      createdAt: "2026-01-01T00:00:00.000Z",
      updatedAt: "2026-01-01T00:00:00.000Z",
    };
    const { api, calls } = scripted(
      { status: 202, body: { id: "job_1", status: "queued" } },
      { status: 200, body: job },
      { status: 200, body: job },
      { status: 202, body: { id: "job_1", status: "queued" } },
    );
    // Act
    const accepted = await api.createJob({
      selector: { provider: "tencent", appId: "1" },
      edit: { text: "x" },
    });
    await api.getJob("job_1");
    await api.cancelJob("job_1");
    await api.resumeJob("job_1");
    // Assess
    expect(accepted).toEqual({ id: "job_1", status: "queued" });
    expect(calls.map((call) => `${call.method} ${call.url.pathname}`)).toEqual([
      "POST /v1/edits",
      "GET /v1/edits/job_1",
      "POST /v1/edits/job_1/cancel",
      "POST /v1/edits/job_1/resume",
    ]);
  });

  it("explains 409, 412, 422 and 429 in words, with the Retry-After", async () => {
    // Prepare
    const { api } = scripted(
      {
        status: 409,
        body: errorBody("lease_held", "message x is being edited; try again shortly"),
        headers: { "retry-after": "1" },
      },
      { status: 412, body: errorBody("precondition_failed", "message x is at version 4, not 3") },
      { status: 422, body: errorBody("content_refused", "text is too long") },
      { status: 422, body: errorBody("idempotency_mismatch", "key reused") },
      { status: 429, body: errorBody("rate_limited", "slow down"), headers: { "retry-after": "3" } },
    );
    const write = { ifMatch: 3, idempotencyKey: "k" };
    // Act
    const busy = await failure(api.edit(record.id, { text: "x" }, write));
    const stale = await failure(api.edit(record.id, { text: "x" }, write));
    const refused = await failure(api.edit(record.id, { text: "x" }, write));
    const reused = await failure(api.edit(record.id, { text: "x" }, write));
    const limited = await failure(api.edit(record.id, { text: "x" }, write));
    // Assess
    expect(busy.status).toBe(409);
    expect(busy.explanation).toMatch(/being edited .* right now .*Try again in 1 s/);
    expect(stale.explanation).toMatch(/changed this message since you opened it .*Reload/);
    expect(refused.explanation).toBe("The provider would refuse this content: text is too long.");
    expect(reused.explanation).toMatch(/Idempotency-Key was already used for a different request/);
    expect(limited.explanation).toMatch(/rate limit .*Nothing was changed; try again in 3 s/);
    expect(limited.code).toBe("rate_limited");
  });

  it("explains the other statuses, and keeps the error's details", async () => {
    // Act + Assess
    expect(explain(401, "unauthorized", "missing or invalid API token")).toMatch(/sign in again/);
    expect(
      explain(400, "listing_disabled", "Listing a conversation needs the conversation listing."),
    ).toMatch(
      /does not keep that listing\. Listing a conversation .* by its id or its whole natural key instead\.$/,
    );
    expect(explain(409, "not_editable", "message x cannot be edited: recalled")).toMatch(
      /current state: .*recalled/,
    );
    expect(explain(409, "ambiguous_key", "several")).toMatch(/add its missing fields/);
    expect(explain(409, "job_finished", "done")).toMatch(/already finished/);
    expect(explain(503, "provider_unavailable", "down")).toMatch(/nothing was applied/);
    expect(explain(504, "outcome_unknown", "no answer")).toMatch(/not known yet/);
    expect(explain(502, "provider_rejected", "bad sig")).toMatch(/configuration/);
    const { api } = scripted({
      status: 400,
      body: { error: { code: "validation_failed", message: "bad", details: { x: 1 } } },
    });
    const invalid = await failure(api.getMessage(record.id));
    expect(invalid.details).toEqual({ x: 1 });
    expect(invalid.explanation).toBe("The request was refused as invalid: bad.");
  });

  it("turns a network failure, a non-JSON error and an unexpected answer into words", async () => {
    // Prepare
    const down = new Api("", async () => {
      throw new TypeError("fetch failed");
    });
    const html: Fetcher = async () =>
      new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" });
    const { api: odd } = scripted({ status: 200, body: { items: "not a list" } });
    // Act
    const network = await failure(down.getMessage("x"));
    const gateway = await failure(new Api("", html).getMessage("x"));
    const shape = await failure(odd.listJobs());
    // Assess
    expect(network.status).toBe(0);
    expect(network.explanation).toMatch(/could not be reached \(fetch failed\)/);
    expect(gateway.code).toBe("http_502");
    expect(gateway.explanation).toMatch(/Bad Gateway/);
    expect(gateway.explanation).not.toContain("<html>");
    expect(shape.code).toBe("unexpected_answer");
  });

  it("signs in locally with the token as a bearer header, and names the actor console", async () => {
    // Prepare
    const seen: Headers[] = [];
    const fetcher = tokenFetcher("secret-token", async (_url, init) => {
      seen.push(new Headers(init.headers));
      return new Response(JSON.stringify(record), { status: 200 });
    });
    // Act
    await new Api("http://127.0.0.1:3000", fetcher).getMessage(record.id);
    // Assess
    expect(seen[0]?.get("authorization")).toBe("Bearer secret-token");
    expect(seen[0]?.get("x-actor")).toBe("console");
    expect(seen[0]?.get("accept")).toBe("application/json");
  });
});
