import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { CreateJobBody, jobView, ReconcileBody } from "../../../functions/api/jobs.ts";
import {
  type JsonSchema,
  type OperationObject,
  REQUEST_JSON_SCHEMA,
  responseSchemas,
} from "../../../functions/api/openapi/shapes.ts";
import { openApiDocument, openApiResult } from "../../../functions/api/openapi.ts";
import { Operation, TargetById, TargetByKey } from "../../../functions/api/operations.ts";
import { recordView, versionView } from "../../../functions/api/views.ts";
import type { Job } from "../../../functions/core/jobs/model.ts";
import { isCallbackRoute, ROUTES, type Route, routeKey } from "../../../functions/http/routes.ts";
import { EDITOR_PROVIDERS } from "../../../functions/providers/editor-providers.ts";
import { NeteaseEditBody } from "../../../functions/providers/netease/edit-body.ts";
import { TencentEditBody } from "../../../functions/providers/tencent/editor.ts";
import * as z from "../../../functions/zod.ts";
import { c2cHead } from "../../helpers/heads.ts";

const document = openApiDocument();

/** The JSON Schema of a handler's schema object, converted here (not through the module under test). */
function jsonOf(schema: z.core.$ZodType): JsonSchema {
  const { $schema: _, ...converted } = z.toJSONSchema(schema, REQUEST_JSON_SCHEMA);
  return converted;
}

function operationOf(route: Route): OperationObject | undefined {
  const item = document.paths[route.path];
  return item?.[route.method.toLowerCase() as keyof typeof item];
}

/** A handler operation's fields (the objects `parseOperation` checks requests with). */
const fieldsOf = (action: Operation["action"]): Readonly<Record<string, z.core.$ZodType>> =>
  z.getDiscriminatedOption(Operation, action).shape;

/**
 * What each route's handler parses, by where it comes from: `toOperation` (api/http.ts) maps the request's
 * path, query, headers and body to these fields of `Operation`. A new route fails the test until added.
 */
interface HandlerSchemas {
  readonly path?: Readonly<Record<string, z.core.$ZodType>>;
  readonly query?: Readonly<Record<string, z.core.$ZodType>>;
  readonly header?: Readonly<Record<string, z.core.$ZodType>>;
  /** The whole body's schema. */
  readonly body?: z.core.$ZodType;
  /** A body the handler reads field by field (restore's `version`, purge's `reason`). */
  readonly bodyFields?: Readonly<Record<string, z.core.$ZodType>>;
  /** A body each provider's editor parses with its own schema. */
  readonly editBody?: true;
}

const list = fieldsOf("list");
const versions = fieldsOf("versions");
const edit = fieldsOf("edit");
const restore = fieldsOf("restore");
const purge = fieldsOf("purge");
const listJobs = fieldsOf("listJobs");
const byId = { id: TargetById.shape.id };
const jobById = (action: "getJob" | "cancelJob" | "resumeJob") => ({
  id: fieldsOf(action).jobId as z.core.$ZodType,
});
const pick = (fields: Readonly<Record<string, z.core.$ZodType>>, ...names: string[]) =>
  Object.fromEntries(names.map((name) => [name, fields[name] as z.core.$ZodType]));

const HANDLERS: Readonly<Record<string, HandlerSchemas>> = {
  "GET /v1/messages": {
    // Every field of `list` but the action: the natural key's fields arrive as the free-form `key`.
    query: pick(
      list,
      "provider",
      "appId",
      "conversation",
      "sender",
      "since",
      "until",
      "limit",
      "nextToken",
      "key",
    ),
  },
  "GET /v1/messages/{id}": { path: byId },
  "GET /v1/messages/{id}/versions": { path: byId, query: pick(versions, "limit", "nextToken") },
  "PATCH /v1/messages": {
    query: { key: TargetByKey.shape.key },
    header: pick(edit, "idempotencyKey"),
    editBody: true,
  },
  "PATCH /v1/messages/{id}": { path: byId, header: pick(edit, "idempotencyKey"), editBody: true },
  "POST /v1/messages/{id}/restore": {
    path: byId,
    header: pick(restore, "idempotencyKey"),
    bodyFields: pick(restore, "version"),
  },
  "DELETE /v1/messages/{id}/versions": {
    path: byId,
    query: pick(purge, "reason"),
    bodyFields: pick(purge, "reason"),
  },
  "POST /v1/edits": { body: z.getDiscriminatedOption(Operation, "createJob").shape.body },
  "GET /v1/edits": { query: pick(listJobs, "limit", "nextToken") },
  "GET /v1/edits/{id}": { path: jobById("getJob") },
  "POST /v1/edits/{id}/cancel": { path: jobById("cancelJob") },
  "POST /v1/edits/{id}/resume": { path: jobById("resumeJob") },
  "POST /v1/reconcile": { body: z.getDiscriminatedOption(Operation, "reconcile").shape.body },
  "GET /openapi.json": {},
};

const HEADER_NAMES: Readonly<Record<string, string>> = { idempotencyKey: "Idempotency-Key" };

describe("GET /openapi.json: the document", () => {
  it("has every route of ROUTES, and no operation that is not one", () => {
    // Act
    const missing = ROUTES.filter((route) => operationOf(route) === undefined).map(routeKey);
    const documented = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );

    // Assess
    expect(missing).toEqual([]);
    expect(documented.sort()).toEqual(ROUTES.map(routeKey).sort());
    // The callbacks are documented under their own tag, for completeness.
    for (const route of ROUTES.filter(isCallbackRoute))
      expect(operationOf(route)?.tags).toEqual(["callbacks"]);
  });

  it("is valid OpenAPI 3.1 (the official schema, through @seriousme/openapi-schema-validator)", async () => {
    // Act
    const result = await new Validator().validate(
      structuredClone(document) as unknown as Record<string, unknown>,
    );

    // Assess
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(document.openapi).toBe("3.1.0");
  });

  it("each route's parameters and body are the JSON Schema of the very schema objects its handler parses with", () => {
    for (const route of ROUTES.filter((candidate) => !isCallbackRoute(candidate))) {
      // Prepare
      const key = routeKey(route);
      const handler = HANDLERS[key];
      const operation = operationOf(route);
      expect(handler, `${key}: say here which schemas its handler parses with`).toBeDefined();
      if (!handler || !operation) continue;
      const documented = (where: string) =>
        Object.fromEntries(
          (operation.parameters ?? [])
            .filter(
              (parameter) =>
                parameter.in === where && parameter.name !== "If-Match" && parameter.name !== "X-Actor",
            )
            .map((parameter) => [parameter.name, parameter.schema]),
        );
      const expected = (
        fields: Readonly<Record<string, z.core.$ZodType>> = {},
        names: Record<string, string> = {},
      ) =>
        Object.fromEntries(
          Object.entries(fields).map(([name, field]) => [names[name] ?? name, jsonOf(field)]),
        );

      // Assess
      expect(documented("path"), key).toEqual(expected(handler.path));
      expect(documented("query"), key).toEqual(expected(handler.query));
      expect(documented("header"), key).toEqual(expected(handler.header, HEADER_NAMES));
      const body = operation.requestBody?.content["application/json"].schema;
      if (handler.body) expect(body, key).toEqual(jsonOf(handler.body));
      if (handler.bodyFields) {
        expect(body?.properties, key).toEqual(expected(handler.bodyFields));
        expect(body?.type, key).toBe("object");
      }
      if (handler.editBody) {
        // The API takes any JSON (the Operation's body is checked only for what the store can keep) ...
        expect(jsonOf(edit.body as z.core.$ZodType)).toEqual({});
        // ... and the message's provider's editor decides: each provider's edit body, by name.
        expect(body, key).toEqual({
          anyOf: [
            { title: "tencent", ...jsonOf(TencentEditBody) },
            { title: "netease", ...jsonOf(NeteaseEditBody) },
          ],
        });
      }
      if (!handler.body && !handler.bodyFields && !handler.editBody)
        expect(operation.requestBody, key).toBeUndefined();
    }
  });

  it("the handlers' schema objects are the ones the document imports", () => {
    expect(fieldsOf("createJob").body).toBe(CreateJobBody);
    expect(fieldsOf("reconcile").body).toBe(ReconcileBody);
    expect(EDITOR_PROVIDERS.map((provider) => [provider.name, provider.editBody])).toEqual([
      ["tencent", TencentEditBody],
      ["netease", NeteaseEditBody],
    ]);
  });

  it("a parameter is required exactly when the handler's field is neither optional nor defaulted", () => {
    const parameters = operationOf({
      method: "GET",
      path: "/v1/messages",
      function: "editor",
      auth: "api",
    })?.parameters;
    expect(
      Object.fromEntries((parameters ?? []).map((parameter) => [parameter.name, parameter.required])),
    ).toEqual({
      provider: true,
      appId: true,
      conversation: false,
      sender: false,
      since: false,
      until: false,
      limit: false,
      nextToken: false,
      key: false,
    });
  });

  it("/v1 needs SigV4 or the bearer token; the open routes say so; every /v1 route answers the error envelope", () => {
    // Assess
    expect(document.security).toEqual([{ sigv4: [] }, { bearer: [] }]);
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(["bearer", "sigv4"]);
    for (const route of ROUTES) {
      const operation = operationOf(route);
      if (route.auth === "none") {
        expect(operation?.security, routeKey(route)).toEqual([]);
        continue;
      }
      expect(operation?.security, routeKey(route)).toBeUndefined();
      const responses = operation?.responses ?? {};
      for (const status of ["401", "403", "429", "500", "503"])
        expect(responses[status], routeKey(route)).toBeDefined();
      for (const [status, response] of Object.entries(responses)) {
        const schema = response.content?.["application/json"].schema;
        if (Number(status) < 400) continue;
        const refs = JSON.stringify(schema);
        expect(refs, `${routeKey(route)} ${status}`).toMatch(
          /#\/components\/schemas\/(Error|GatewayMessage)"/,
        );
      }
      expect(
        Object.keys(responses).some((status) => status.startsWith("2")),
        routeKey(route),
      ).toBe(true);
    }
  });

  it("the error envelope is the one respond.ts writes", () => {
    // Act
    const { Error: envelope } = responseSchemas();

    // Assess
    expect(z.safeParse(envelope, { error: { code: "not_found", message: "no message" } }).success).toBe(true);
    expect(
      z.safeParse(envelope, {
        error: {
          code: "timeout",
          message: "sent, not answered",
          details: { id: "c2c_x", status: "/v1/messages/c2c_x" },
        },
        outcome: "unknown",
      }).success,
    ).toBe(true);
    expect(z.safeParse(envelope, { error: { code: "x" } }).success).toBe(false);
  });

  it("every $ref names a component; no schema carries $defs or an $id of its own", () => {
    // Act
    const text = JSON.stringify(document);
    const refs = [...text.matchAll(/"\$ref":"([^"]+)"/g)].map((match) => match[1] ?? "");

    // Assess
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(document.components.schemas[ref.split("/").pop() ?? ""], ref).toBeDefined();
    }
    expect(text).not.toContain('"$defs"');
    expect(text).not.toContain('"$id"');
    expect(text).not.toContain('"$schema"');
  });

  it("the views' answers fit their documented shapes exactly (strict: a field not documented fails)", () => {
    // Prepare
    const shapes = responseSchemas();
    const head = c2cHead(
      { MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: "hi" } }] },
      { sender: "a", notEditable: "live group", sendError: { code: 1, info: "x" }, operator: "admin" },
    );
    const job: Job = {
      id: "job_01jh0000000000000000000000",
      kind: "edit",
      status: "running",
      dryRun: true,
      selector: { provider: "tencent", appId: "1400000000", since: "2026-01-01T00:00:00.000Z", text: "^hi" },
      work: { action: { replace: { pattern: "^hi", with: "hello" } } },
      actor: "api",
      counts: { matched: 3, done: 0, failed: 0, skipped: 1 },
      preview: [{ id: "c2c_x", before: { text: "hi" }, after: { text: "hello" } }],
      runner: { owner: "run_x", until: 2_000 },
      ratePerSec: 2,
      error: "refused",
      createdAt: "2026-01-01T00:00:00.000Z",
      updatedAt: "2026-01-01T00:00:01.000Z",
      startedAt: "2026-01-01T00:00:00.500Z",
      rev: 2,
    };
    const purgedVersion = {
      version: 1,
      content: {},
      contentHash: "h",
      source: "callback" as const,
      at: "2026-06-01T00:00:00.000Z",
      purged: { at: "2026-06-02T00:00:00.000Z", by: "api", reason: "gdpr" },
    };

    const { purged: _, ...unpurged } = purgedVersion;
    const { selector: _selector, work: _work, ...unselected } = job;

    // Act + Assess
    expect(z.parse(shapes.MessageRecord, recordView(head))).toBeDefined();
    expect(z.parse(shapes.MessageVersion, versionView(purgedVersion))).toBeDefined();
    expect(
      z.parse(
        shapes.MessageVersion,
        versionView({
          ...unpurged,
          content: { text: "x" },
          actor: "api",
          ruleId: "r",
          jobId: "job_x",
          idempotencyKey: "k",
        }),
      ),
    ).toBeDefined();
    expect(z.parse(shapes.Job, jobView(job, 1_000))).toBeDefined();
    expect(
      z.parse(shapes.Job, jobView({ ...job, dryRun: false, work: { edit: { text: "x" } } }, 1_000)),
    ).toBeDefined();
    expect(
      z.parse(
        shapes.Job,
        jobView(
          {
            ...unselected,
            kind: "reconcile",
            reconcile: {
              provider: "tencent",
              appId: "1400000000",
              pair: ["a", "b"],
              since: "2026-01-01T00:00:00.000Z",
              until: "2026-01-02T00:00:00.000Z",
            },
          },
          1_000,
        ),
      ),
    ).toBeDefined();
    expect(z.safeParse(shapes.MessageRecord, { ...recordView(head), extra: 1 }).success).toBe(false);
  });

  it("is built once, and GET /openapi.json answers it as JSON", () => {
    // Act
    const first = openApiResult();

    // Assess
    expect(openApiDocument()).toBe(document);
    expect(openApiResult()).toBe(first);
    expect(first.statusCode).toBe(200);
    expect(first.headers?.["content-type"]).toBe("application/json; charset=utf-8");
    expect(JSON.parse(first.body ?? "")).toEqual(document);
  });
});
