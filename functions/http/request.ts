import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { PayloadTooLargeError } from "../core/errors.ts";

/** The raw request bytes, whatever API Gateway did to them (base64 for binary content types). */
export function rawBody(event: APIGatewayProxyEventV2, maxBytes: number): Buffer {
  const body = event.body ?? "";
  // Cheap bound before decoding: base64 is 4/3 the size of its bytes.
  const approximate = event.isBase64Encoded ? Math.floor((body.length * 3) / 4) : Buffer.byteLength(body);
  if (approximate > maxBytes + 3) throw tooLarge(maxBytes);
  const bytes = event.isBase64Encoded ? Buffer.from(body, "base64") : Buffer.from(body, "utf8");
  if (bytes.length > maxBytes) throw tooLarge(maxBytes);
  return bytes;
}

const tooLarge = (maxBytes: number) => new PayloadTooLargeError(`body is larger than ${maxBytes} bytes`);

/** Lower-cased header names (API Gateway v2 already lower-cases; direct invokes may not). */
export function lowerCaseHeaders(
  headers: APIGatewayProxyEventV2["headers"],
): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
  );
}
