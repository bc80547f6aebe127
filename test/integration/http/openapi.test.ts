import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type JsonSchema, responseSchemas } from "../../../functions/api/openapi/shapes.ts";
import { openApiDocument } from "../../../functions/api/openapi.ts";
import * as z from "../../../functions/zod.ts";
import type { LocalStack } from "../../../local/stack.ts";
import { send } from "../../helpers/http.ts";
import { waitForJob } from "../../helpers/jobs.ts";
import { api, type Reply, startTestStack } from "../../helpers/stack.ts";
import { APP_ID } from "../../helpers/tencent.ts";
import { tencentApp } from "../../helpers/tencent-app.ts";

const document = openApiDocument();
type ShapeName = keyof ReturnType<typeof responseSchemas>;

/** The component names a documented answer's schema allows (a `$ref`, or any of several). */
function allowedShapes(schema: JsonSchema | undefined): ShapeName[] {
  if (schema === undefined) return [];
  const options = (schema.oneOf ?? schema.anyOf ?? [schema]) as JsonSchema[];
  return options.map((option) => String(option.$ref).split("/").pop() as ShapeName);
}

/**
 * Checks a real answer against the document: its status is documented for the route, its body parses
 * with (one of) the documented shapes, strictly, and the documented headers are there.
 */
function expectDocumented(route: string, reply: Reply): void {
  const [method = "", path = ""] = route.split(" ");
  const item = document.paths[path];
  const operation = item?.[method.toLowerCase() as keyof typeof item];
  const response = operation?.responses[String(reply.status)];
  expect(response, `${route} answered ${reply.status}, which the document does not list`).toBeDefined();
  const shapes = allowedShapes(response?.content?.["application/json"].schema);
  const fits = shapes.filter((name) => z.safeParse(responseSchemas()[name], reply.body).success);
  expect(shapes.length, `${route} ${reply.status}: no documented body`).toBeGreaterThan(0);
  expect(
    fits,
    `${route} ${reply.status}: ${JSON.stringify(reply.body)} fits none of ${shapes.join(", ")}`,
  ).not.toEqual([]);
  for (const header of Object.keys(response?.headers ?? {}).filter((name) => name !== "Retry-After")) {
    // A list answers a page (no ETag) or, for a whole key, a record (with one): ETag goes with the record.
    if (header === "ETag" && !fits.includes("MessageRecord")) continue;
    expect(reply.headers[header.toLowerCase()], `${route} ${reply.status}: ${header}`).toBeDefined();
  }
}

describe("GET /openapi.json and the answers it documents, through the local server", () => {
  let stack: LocalStack;
  let app: ReturnType<typeof tencentApp>;

  beforeAll(async () => {
    stack = await startTestStack({ tencentSimulator: true });
    app = tencentApp(stack);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("answers the document with 200, without a token, as JSON", async () => {
    // Act
    const reply = await api(stack.url, "/openapi.json", null);

    // Assess
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(reply.body).toEqual(JSON.parse(JSON.stringify(document)));
    // /v1 still needs the token: only the document is open.
    expectDocumented("GET /v1/edits", await api(stack.url, "/v1/edits", null));
  });

  it("every answer of a find, open, edit, restore and purge fits the documented status and shape", async () => {
    // Prepare
    const from = `u-${randomUUID().slice(0, 8)}`;
    const msgKey = await app.sendC2C(from, "v-1", "hello");

    // Act + Assess
    const byKey = await api(stack.url, `/v1/messages?provider=tencent&appId=${APP_ID}&msgKey=${msgKey}`);
    expectDocumented("GET /v1/messages", byKey);
    const id = (byKey.body as { id: string }).id;
    expectDocumented(
      "GET /v1/messages",
      await api(stack.url, `/v1/messages?provider=tencent&appId=${APP_ID}&sender=${from}`),
    );
    expectDocumented(
      "GET /v1/messages",
      await api(stack.url, `/v1/messages?provider=tencent&appId=${APP_ID}&limit=0`),
    );
    expectDocumented("GET /v1/messages/{id}", await api(stack.url, `/v1/messages/${id}`));
    expectDocumented(
      "GET /v1/messages/{id}",
      await api(stack.url, "/v1/messages/c2c_aaaaaaaaaaaaaaaaaaaaaaaaaa"),
    );
    expectDocumented(
      "PATCH /v1/messages/{id}",
      await send(
        stack.url,
        "PATCH",
        `/v1/messages/${id}`,
        { text: "hello, edited" },
        { "idempotency-key": "k-1" },
      ),
    );
    expectDocumented(
      "PATCH /v1/messages/{id}",
      await send(stack.url, "PATCH", `/v1/messages/${id}`, { text: "x" }, { "if-match": '"1"' }),
    );
    expectDocumented(
      "PATCH /v1/messages/{id}",
      await send(stack.url, "PATCH", `/v1/messages/${id}`, { nope: 1 }),
    );
    expectDocumented(
      "PATCH /v1/messages",
      await send(stack.url, "PATCH", `/v1/messages?provider=tencent&appId=${APP_ID}&msgKey=${msgKey}`, {
        text: "by key",
      }),
    );
    expectDocumented("GET /v1/messages/{id}/versions", await api(stack.url, `/v1/messages/${id}/versions`));
    expectDocumented(
      "POST /v1/messages/{id}/restore",
      await send(stack.url, "POST", `/v1/messages/${id}/restore`, { version: 1 }),
    );
    expectDocumented(
      "DELETE /v1/messages/{id}/versions",
      await send(stack.url, "DELETE", `/v1/messages/${id}/versions?reason=test`),
    );
    expectDocumented("GET /v1/messages/{id}/versions", await api(stack.url, `/v1/messages/${id}/versions`));
  });

  it("every answer of a job's start, watch, list, cancel and resume fits the documented status and shape", async () => {
    // Prepare
    const from = `j-${randomUUID().slice(0, 8)}`;
    await app.sendC2C(from, "v-2", "hello job");
    const selector = { provider: "tencent", appId: APP_ID, sender: from };

    // Act + Assess
    const started = await send(stack.url, "POST", "/v1/edits", {
      selector,
      action: { replace: { pattern: "^hello", with: "hi" } },
      dryRun: true,
    });
    expectDocumented("POST /v1/edits", started);
    const jobId = (started.body as { id: string }).id;
    await waitForJob(stack.url, jobId);
    expectDocumented("GET /v1/edits/{id}", await api(stack.url, `/v1/edits/${jobId}`));
    expectDocumented("GET /v1/edits/{id}", await api(stack.url, "/v1/edits/job_nope"));
    expectDocumented("GET /v1/edits", await api(stack.url, "/v1/edits?limit=5"));
    expectDocumented(
      "POST /v1/edits/{id}/cancel",
      await send(stack.url, "POST", `/v1/edits/${jobId}/cancel`),
    );
    expectDocumented(
      "POST /v1/edits/{id}/resume",
      await send(stack.url, "POST", `/v1/edits/${jobId}/resume`),
    );
    expectDocumented("POST /v1/edits", await send(stack.url, "POST", "/v1/edits", { selector }));
    expectDocumented(
      "POST /v1/reconcile",
      await send(stack.url, "POST", "/v1/reconcile", {
        provider: "tencent",
        appId: APP_ID,
        pair: [from, "v-2"],
        since: "2026-01-01T00:00:00Z",
        until: "2026-01-02T00:00:00Z",
      }),
    );
  });
});
