import middy from "@middy/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { z } from "zod";
import { etag, recordView, versionView } from "./api/views.ts";
import { dependencies } from "./clients.ts";
import { BadRequestError, NotFoundError } from "./core/errors.ts";
import { httpErrors, logRoute } from "./http/middleware.ts";
import { type HttpResult, json } from "./http/respond.ts";

/**
 * The editor's HTTP face (`/v1`). This issue serves the read routes; edits, restore and purge join
 * them here. Authorization happens before the function (IAM in AWS, bearer token locally).
 */
const Timestamp = z.iso
  .datetime({ offset: true })
  .or(z.iso.date())
  .transform((value) => new Date(value).toISOString());

const ListParams = z.object({
  provider: z.enum(["tencent", "netease"]),
  appId: z.string().min(1).max(64),
  conversation: z.string().min(1).max(1024).optional(),
  sender: z.string().min(1).max(256).optional(),
  since: Timestamp.optional(),
  until: Timestamp.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  nextToken: z.string().min(1).max(4096).optional(),
});
type ListParams = z.infer<typeof ListParams>;

const VersionParams = z.object({
  limit: z.coerce.number().int().min(20).max(100).default(50),
  nextToken: z.string().min(1).max(4096).optional(),
});

function parse<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new BadRequestError("invalid query parameters", {
      code: "validation_failed",
      details: z.flattenError(result.error),
    });
  }
  return result.data;
}

async function route(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const { queries } = dependencies();
  const query = event.queryStringParameters ?? {};
  const id = event.pathParameters?.id ?? "";
  switch (event.routeKey) {
    case "GET /v1/messages/{id}": {
      const head = await queries.get(id);
      return json(200, recordView(head), { etag: etag(head) });
    }
    case "GET /v1/messages/{id}/versions": {
      const page = parse(VersionParams, query);
      const versions = await queries.versions(id, {
        limit: page.limit,
        ...(page.nextToken !== undefined ? { nextToken: page.nextToken } : {}),
      });
      return json(200, { items: versions.items.map(versionView), ...nextToken(versions.nextToken) });
    }
    case "GET /v1/messages": {
      const params: ListParams = parse(ListParams, query);
      const found = await queries.lookup(params.provider, params.appId, query);
      if (found) return json(200, recordView(found), { etag: etag(found) });
      if (params.since !== undefined && params.until !== undefined && params.since > params.until) {
        throw new BadRequestError("since is after until", { code: "validation_failed" });
      }
      const page = await queries.list({
        provider: params.provider,
        appId: params.appId,
        limit: params.limit,
        ...definedOnly({
          conversation: params.conversation,
          sender: params.sender,
          since: params.since,
          until: params.until,
          nextToken: params.nextToken,
        }),
      });
      return json(200, { items: page.items.map(recordView), ...nextToken(page.nextToken) });
    }
    default:
      throw new NotFoundError("no such route");
  }
}

const nextToken = (token: string | undefined) => (token === undefined ? {} : { nextToken: token });

function definedOnly<T extends Record<string, unknown>>(
  fields: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as never;
}

export const handler = middy<APIGatewayProxyEventV2, HttpResult>()
  .use(logRoute())
  .use(httpErrors())
  .handler(route);
