import { ConsoleConfig } from "./schemas.ts";

/**
 * `config.json` beside the page: `{ mode: "token", apiUrl: "" }` from `npm start`, the Cognito settings
 * and the API's URL in AWS (written by the stack). Read once at start; a bad one is a message, not a crash.
 */
export async function loadConfig(fetchImpl: typeof fetch = fetch): Promise<ConsoleConfig> {
  let response: Response;
  try {
    response = await fetchImpl("config.json", { cache: "no-store" });
  } catch {
    throw new Error("The console's config.json could not be loaded: is the server running?");
  }
  if (!response.ok)
    throw new Error(`The console's config.json could not be loaded (HTTP ${response.status}).`);
  const parsed = ConsoleConfig.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) throw new Error("The console's config.json is not valid: ask whoever deployed it.");
  return { ...parsed.data, apiUrl: parsed.data.apiUrl.replace(/\/+$/, "") };
}
