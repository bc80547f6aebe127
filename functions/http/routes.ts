/**
 * Every HTTP route, shared by the local server and the CDK stack so both expose the same contract.
 * `auth: "api"` routes need IAM (SigV4) behind API Gateway and the bearer token locally; `auth: "none"`
 * routes are open: the provider callbacks (verified in code) and the API's OpenAPI document.
 */
export type FunctionName = "recorder" | "editor";

export interface Route {
  readonly method: "GET" | "POST" | "PATCH" | "DELETE";
  readonly path: string;
  readonly function: FunctionName;
  readonly auth: "none" | "api";
}

/** The OpenAPI document of every route (functions/api/openapi.ts), generated from the handlers' schemas. */
export const OPENAPI_ROUTE: Route = {
  method: "GET",
  path: "/openapi.json",
  function: "editor",
  auth: "none",
};

export const ROUTES: readonly Route[] = [
  { method: "POST", path: "/callbacks/{provider}", function: "recorder", auth: "none" },
  { method: "GET", path: "/v1/messages", function: "editor", auth: "api" },
  { method: "GET", path: "/v1/messages/{id}", function: "editor", auth: "api" },
  { method: "GET", path: "/v1/messages/{id}/versions", function: "editor", auth: "api" },
  { method: "PATCH", path: "/v1/messages", function: "editor", auth: "api" },
  { method: "PATCH", path: "/v1/messages/{id}", function: "editor", auth: "api" },
  { method: "POST", path: "/v1/messages/{id}/restore", function: "editor", auth: "api" },
  { method: "DELETE", path: "/v1/messages/{id}/versions", function: "editor", auth: "api" },
  { method: "POST", path: "/v1/edits", function: "editor", auth: "api" },
  { method: "GET", path: "/v1/edits", function: "editor", auth: "api" },
  { method: "GET", path: "/v1/edits/{id}", function: "editor", auth: "api" },
  { method: "POST", path: "/v1/edits/{id}/cancel", function: "editor", auth: "api" },
  { method: "POST", path: "/v1/edits/{id}/resume", function: "editor", auth: "api" },
  { method: "POST", path: "/v1/reconcile", function: "editor", auth: "api" },
  OPENAPI_ROUTE,
];

/**
 * The providers' callback routes (the recorder's): open but verified in code, throttled on their own, and
 * moved to the recorder's function URL when the stack says so. Not every open route is one.
 */
export const isCallbackRoute = (route: Route): boolean => route.function === "recorder";

export const routeKey = (route: Route): string => `${route.method} ${route.path}`;

export const OPENAPI_ROUTE_KEY = routeKey(OPENAPI_ROUTE);

/**
 * Matches a concrete path against the route table, API Gateway style (`{name}` = one path segment).
 * `routes` narrows the table, e.g. to one function's routes behind its Lambda function URL.
 */
export function matchRoute(
  method: string,
  path: string,
  routes: readonly Route[] = ROUTES,
): { route: Route; pathParameters: Record<string, string> } | { allowed: Route["method"][] } | undefined {
  const segments = path.split("/");
  const allowed: Route["method"][] = [];
  for (const route of routes) {
    const pattern = route.path.split("/");
    if (pattern.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    const matches = pattern.every((part, i) => {
      const segment = segments[i] ?? "";
      if (part.startsWith("{") && part.endsWith("}")) {
        if (segment === "") return false;
        pathParameters[part.slice(1, -1)] = decodeURIComponentSafe(segment);
        return true;
      }
      return part === segment;
    });
    if (!matches) continue;
    if (route.method === method) return { route, pathParameters };
    allowed.push(route.method);
  }
  return allowed.length > 0 ? { allowed } : undefined;
}

function decodeURIComponentSafe(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
