import { AwsClient } from "aws4fetch";
import * as z from "zod/mini";
import type { Fetcher } from "../api.ts";
import type { CognitoConfig } from "../schemas.ts";

/**
 * AWS sign-in: Cognito managed login (authorization code + PKCE) gives an ID token; the identity pool
 * turns it into temporary IAM credentials allowed `execute-api:Invoke` on `/v1/*`; each API request is
 * signed with SigV4 in the browser (aws4fetch). No long-lived secret reaches the browser: the PKCE
 * verifier and state wait in sessionStorage across the redirect only, the credentials stay in memory.
 */
export interface CognitoDeps {
  readonly fetch: Fetcher;
  readonly storage: Pick<Storage, "getItem" | "setItem" | "removeItem">;
  readonly randomBytes: (length: number) => Uint8Array;
  readonly now: () => number;
}

export interface CognitoSession {
  readonly fetcher: Fetcher;
  /** Who signed in, for the page header (the ID token's email or user name). */
  readonly who: string;
  /** Epoch ms when the temporary credentials expire. */
  readonly expiresAt: number;
}

const PENDING_KEY = "im-edit-console:pkce";
const Pending = z.object({ verifier: z.string(), state: z.string() });
const TokenAnswer = z.looseObject({ id_token: z.string() });
const IdAnswer = z.looseObject({ IdentityId: z.string() });
const CredentialsAnswer = z.looseObject({
  Credentials: z.looseObject({
    AccessKeyId: z.string(),
    SecretKey: z.string(),
    SessionToken: z.string(),
    Expiration: z.number(),
  }),
});

export const base64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");

/** RFC 7636 S256: base64url(sha256(verifier)). */
export async function codeChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** The console's own address, where managed login sends the user back (without query or index.html). */
export const redirectUriOf = (location: { origin: string; pathname: string }): string =>
  `${location.origin}${location.pathname.replace(/index\.html$/, "")}`;

/** The managed-login address to send the user to; remembers the verifier and state for the way back. */
export async function signInUrl(
  config: CognitoConfig,
  redirectUri: string,
  deps: CognitoDeps,
): Promise<string> {
  const verifier = base64url(deps.randomBytes(32));
  const state = base64url(deps.randomBytes(16));
  deps.storage.setItem(PENDING_KEY, JSON.stringify({ verifier, state }));
  const url = new URL("/oauth2/authorize", config.domain);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config.userPoolClientId,
    redirect_uri: redirectUri,
    scope: "openid email profile",
    state,
    code_challenge: await codeChallenge(verifier),
    code_challenge_method: "S256",
  }).toString();
  return url.toString();
}

/** Managed login's logout address (it clears its own session cookie, then returns to the console). */
export function signOutUrl(config: CognitoConfig, redirectUri: string): string {
  const url = new URL("/logout", config.domain);
  url.search = new URLSearchParams({
    client_id: config.userPoolClientId,
    logout_uri: redirectUri,
  }).toString();
  return url.toString();
}

export class SignInError extends Error {
  override readonly name = "SignInError";
}

/**
 * The way back from managed login (`?code=…&state=…`): the code for an ID token, the ID token for
 * identity pool credentials. Undefined when the page was not opened by managed login.
 */
export async function finishSignIn(
  config: CognitoConfig,
  redirectUri: string,
  params: URLSearchParams,
  deps: CognitoDeps,
): Promise<CognitoSession | undefined> {
  const error = params.get("error");
  if (error !== null) throw new SignInError(`Sign-in failed: ${params.get("error_description") ?? error}.`);
  const code = params.get("code");
  if (code === null) return undefined;
  const pending = Pending.safeParse(JSON.parse(deps.storage.getItem(PENDING_KEY) ?? "null"));
  deps.storage.removeItem(PENDING_KEY);
  if (!pending.success || pending.data.state !== params.get("state")) {
    throw new SignInError("Sign-in could not be verified (its state does not match): sign in again.");
  }
  const tokens = await callJson(
    TokenAnswer,
    deps.fetch,
    new URL("/oauth2/token", config.domain).toString(),
    { "content-type": "application/x-www-form-urlencoded" },
    new URLSearchParams({
      grant_type: "authorization_code",
      client_id: config.userPoolClientId,
      code,
      redirect_uri: redirectUri,
      code_verifier: pending.data.verifier,
    }).toString(),
  );
  const logins = { [`cognito-idp.${config.region}.amazonaws.com/${config.userPoolId}`]: tokens.id_token };
  const identity = await identityCall(IdAnswer, config, deps, "GetId", {
    IdentityPoolId: config.identityPoolId,
    Logins: logins,
  });
  const { Credentials } = await identityCall(CredentialsAnswer, config, deps, "GetCredentialsForIdentity", {
    IdentityId: identity.IdentityId,
    Logins: logins,
  });
  const expiresAt = Credentials.Expiration * 1000;
  const client = new AwsClient({
    accessKeyId: Credentials.AccessKeyId,
    secretAccessKey: Credentials.SecretKey,
    sessionToken: Credentials.SessionToken,
    service: "execute-api",
    region: config.region,
    // Never resend on its own: a write's retry is the operator's decision (same Idempotency-Key).
    retries: 0,
  });
  const fetcher: Fetcher = async (url, init) => {
    if (deps.now() >= expiresAt) throw new SignInError("Your sign-in has expired: sign in again.");
    return deps.fetch(...(await signed(client, url, init)));
  };
  return { fetcher, who: whoOf(tokens.id_token), expiresAt };
}

/** The signed request as fetch arguments (url and init), so the transport stays injectable. */
async function signed(client: AwsClient, url: string, init: RequestInit): Promise<[string, RequestInit]> {
  const request = await client.sign(url, init);
  const body = init.body === undefined || init.body === null ? {} : { body: init.body };
  return [request.url, { method: request.method, headers: request.headers, ...body }];
}

function identityCall<T extends z.ZodMiniType>(
  schema: T,
  config: CognitoConfig,
  deps: CognitoDeps,
  target: "GetId" | "GetCredentialsForIdentity",
  body: unknown,
): Promise<z.infer<T>> {
  return callJson(
    schema,
    deps.fetch,
    `https://cognito-identity.${config.region}.amazonaws.com/`,
    {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `AWSCognitoIdentityService.${target}`,
    },
    JSON.stringify(body),
  );
}

async function callJson<T extends z.ZodMiniType>(
  schema: T,
  fetcher: Fetcher,
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<z.infer<T>> {
  const response = await fetcher(url, { method: "POST", headers, body });
  let payload: unknown;
  try {
    payload = await response.json();
  } catch {
    payload = undefined;
  }
  const parsed = schema.safeParse(payload);
  if (!response.ok || !parsed.success) {
    const host = new URL(url).host;
    throw new SignInError(`Sign-in failed: ${host} answered HTTP ${response.status}. Sign in again.`);
  }
  return parsed.data;
}

/** The ID token's email or user name (its payload read for display only: the identity pool verified it). */
export function whoOf(idToken: string): string {
  try {
    const payload = idToken.split(".")[1] ?? "";
    const json = atob(payload.replaceAll("-", "+").replaceAll("_", "/"));
    const claims = z
      .looseObject({ email: z.optional(z.string()), "cognito:username": z.optional(z.string()) })
      .parse(JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0)))));
    return claims.email ?? claims["cognito:username"] ?? "operator";
  } catch {
    return "operator";
  }
}
