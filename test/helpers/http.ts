import { request } from "undici";
import { API_TOKEN, type Reply } from "./stack.ts";

/** An authorized API call with a JSON body and extra headers (If-Match, Idempotency-Key). */
export async function send(
  url: string,
  method: "PATCH" | "POST" | "DELETE" | "GET",
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const response = await request(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json", ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    headers: response.headers,
    body: text === "" ? undefined : JSON.parse(text),
  };
}
