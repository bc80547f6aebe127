import { PROVIDER_NAME_PATTERN } from "../core/model.ts";
import { type HttpResult, json } from "../http/respond.ts";
import { ROUTES, routeKey } from "../http/routes.ts";
import * as z from "../zod.ts";
import { jobOperations } from "./openapi/job-operations.ts";
import { messageOperations } from "./openapi/message-operations.ts";
import {
  API_FAILURES,
  body,
  failure,
  ok,
  parameter,
  TAGS,
  type TaggedOperations,
  TOO_LARGE,
} from "./openapi/parts.ts";
import {
  type Method,
  type OpenApiDocument,
  type OperationObject,
  responseComponents,
} from "./openapi/shapes.ts";

function operations(): TaggedOperations {
  return {
    ...messageOperations(),
    ...jobOperations(),
    "GET /openapi.json": {
      operationId: "getOpenApi",
      tags: ["contract"],
      summary: "This OpenAPI document",
      security: [],
      responses: { "200": ok("OpenAPI 3.1", { type: "object" }) },
    },
    "POST /callbacks/{provider}": {
      operationId: "postCallback",
      tags: ["callbacks"],
      summary: "A provider's callback (Tencent Cloud Chat, NetEase Yunxin message copies)",
      description:
        "Configured in the provider's console, not called by API clients. Verified before anything is parsed: " +
        "Tencent signs the query (`SdkAppid`, `CallbackCommand`, `RequestTime`, `Sign`), Yunxin the headers " +
        "(`AppKey`, `CurTime`, `MD5`, `CheckSum`).",
      security: [],
      parameters: [
        parameter(
          "provider",
          "path",
          z.string().check(z.regex(PROVIDER_NAME_PATTERN)),
          "A configured provider (tencent, netease)",
        ),
      ],
      requestBody: body({ type: "object" }, "The provider's callback, as it sends it"),
      responses: {
        "200": ok(
          "The answer the provider expects (a before-send's answer can rewrite or block the message)",
          {
            type: "object",
          },
        ),
        "400": failure("Unreadable callback"),
        "401": failure("Bad or stale signature"),
        "403": failure("Another app than the configured one"),
        "404": failure("No such provider configured"),
        "413": TOO_LARGE,
        "503": failure("Not stored and no durable fallback: the provider should retry"),
      },
    },
  };
}

function buildDocument(): OpenApiDocument {
  const defined = operations();
  const paths: Record<string, Partial<Record<Lowercase<Method>, OperationObject>>> = {};
  // The route table decides what exists; an operation without a route is not published (a test checks both ways).
  for (const route of ROUTES) {
    const operation = defined[routeKey(route)];
    if (!operation) continue;
    const withFailures: OperationObject =
      route.auth === "api"
        ? { ...operation, responses: { ...API_FAILURES, ...operation.responses } }
        : operation;
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: withFailures };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "im-edit",
      version: "v1",
      description:
        "Record and edit already-sent messages on Tencent Cloud Chat and NetEase Yunxin. `/v1` needs SigV4 " +
        "(IAM, `execute-api:Invoke`) behind API Gateway, or `Authorization: Bearer $IM_EDIT_API_TOKEN` with " +
        "`npm start`. Errors are always `{ error: { code, message, providerCode?, details? } }`.",
    },
    tags: TAGS,
    paths,
    components: {
      schemas: responseComponents(),
      securitySchemes: {
        sigv4: {
          type: "apiKey",
          in: "header",
          name: "Authorization",
          description:
            "AWS: a Signature Version 4 signature (service `execute-api`) by a caller allowed " +
            "`execute-api:Invoke` on the API's `/v1/*` (an IAM user or role, or the console's Cognito identity)",
        },
        bearer: { type: "http", scheme: "bearer", description: "npm start: `IM_EDIT_API_TOKEN`" },
      },
    },
    security: [{ sigv4: [] }, { bearer: [] }],
  };
}

let document: OpenApiDocument | undefined;
let answer: HttpResult | undefined;

/** The document, built once. */
export function openApiDocument(): OpenApiDocument {
  document ??= buildDocument();
  return document;
}

/** `GET /openapi.json`'s answer: the document as JSON, serialized once. */
export function openApiResult(): HttpResult {
  answer ??= json(200, openApiDocument(), { "cache-control": "public, max-age=300" });
  return answer;
}
