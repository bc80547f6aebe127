import type { Fetcher } from "../api.ts";

/**
 * Local sign-in: the API token as a bearer header, kept in memory only (never a URL or storage). The
 * actor of the console's versions is `console`, as X-Actor names it locally (in AWS the caller's identity).
 */
export function tokenFetcher(token: string, fetchImpl: Fetcher = (url, init) => fetch(url, init)): Fetcher {
  return (url, init) => {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${token}`);
    headers.set("x-actor", "console");
    return fetchImpl(url, { ...init, headers });
  };
}
