import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Api, type Fetcher } from "../../../console/src/api.ts";
import {
  type CognitoDeps,
  codeChallenge,
  finishSignIn,
  redirectUriOf,
  SignInError,
  signInUrl,
  signOutUrl,
  whoOf,
} from "../../../console/src/auth/cognito.ts";
import type { CognitoConfig } from "../../../console/src/schemas.ts";

const config: CognitoConfig = {
  mode: "cognito",
  apiUrl: "https://abc123.execute-api.eu-west-1.amazonaws.com",
  region: "eu-west-1",
  userPoolId: "eu-west-1_AbCdEf",
  userPoolClientId: "client123",
  identityPoolId: "eu-west-1:11111111-2222-3333-4444-555555555555",
  domain: "https://im-edit-ops.auth.eu-west-1.amazoncognito.com",
};
const REDIRECT = "https://d111.cloudfront.net/";
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

const jwt = (claims: Record<string, unknown>) =>
  ["e30", Buffer.from(JSON.stringify(claims)).toString("base64url"), "sig"].join(".");

interface Call {
  readonly url: string;
  readonly init: RequestInit;
}

/** Managed login, the identity pool and the API, played by one recorded transport. */
function world(options: { expiration?: number } = {}) {
  const calls: Call[] = [];
  const store = new Map<string, string>();
  const fetcher: Fetcher = async (url, init) => {
    calls.push({ url, init });
    const target = new Headers(init.headers).get("x-amz-target");
    if (url.endsWith("/oauth2/token")) {
      return Response.json({
        id_token: jwt({ email: "ops@example.com" }),
        access_token: "a",
        token_type: "Bearer",
      });
    }
    if (target === "AWSCognitoIdentityService.GetId")
      return Response.json({ IdentityId: "eu-west-1:identity-1" });
    if (target === "AWSCognitoIdentityService.GetCredentialsForIdentity") {
      return Response.json({
        IdentityId: "eu-west-1:identity-1",
        Credentials: {
          AccessKeyId: "ASIAEXAMPLE",
          SecretKey: "secret",
          SessionToken: "session-token",
          Expiration: options.expiration ?? NOW / 1000 + 3600,
        },
      });
    }
    return Response.json({ items: [] });
  };
  let counter = 0;
  const deps: CognitoDeps = {
    fetch: fetcher,
    storage: {
      getItem: (key) => store.get(key) ?? null,
      setItem: (key, value) => void store.set(key, value),
      removeItem: (key) => void store.delete(key),
    },
    randomBytes: (length) => new Uint8Array(length).fill(++counter),
    now: () => NOW,
  };
  return { calls, deps, store };
}

describe("Cognito sign-in (managed login + PKCE, identity pool, SigV4)", () => {
  it("computes the S256 code challenge as RFC 7636 defines it", async () => {
    // Prepare
    const verifier = "dBjftJeZ4CVP-mJ92IQ8UjWdQXa2zvo7Y8iEC5-bk";
    // Act + Assess
    expect(await codeChallenge(verifier)).toBe(createHash("sha256").update(verifier).digest("base64url"));
  });

  it("sends the user to managed login with the client, the redirect, a state and the challenge", async () => {
    // Prepare
    const { deps, store } = world();
    // Act
    const url = new URL(await signInUrl(config, REDIRECT, deps));
    // Assess
    expect(url.origin + url.pathname).toBe(`${config.domain}/oauth2/authorize`);
    const pending = JSON.parse(store.values().next().value ?? "{}") as { verifier: string; state: string };
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: "code",
      client_id: "client123",
      redirect_uri: REDIRECT,
      scope: "openid email profile",
      state: pending.state,
      code_challenge: await codeChallenge(pending.verifier),
      code_challenge_method: "S256",
    });
    expect(pending.verifier).toHaveLength(43);
  });

  it("trades the code for an ID token, the ID token for credentials, and signs API requests with SigV4", async () => {
    // Prepare
    const { calls, deps } = world();
    const state = new URL(await signInUrl(config, REDIRECT, deps)).searchParams.get("state") ?? "";
    // Act
    const session = await finishSignIn(
      config,
      REDIRECT,
      new URLSearchParams({ code: "the-code", state }),
      deps,
    );
    await new Api(config.apiUrl, session?.fetcher ?? deps.fetch)
      .edit("c2c_x", { text: "hi" }, { ifMatch: 2, idempotencyKey: "k" })
      .catch(() => undefined);
    // Assess: the token exchange carries the verifier, the identity calls the user pool's login
    expect(session?.who).toBe("ops@example.com");
    const [token, getId, credentials, api] = calls;
    expect(token?.url).toBe(`${config.domain}/oauth2/token`);
    const form = new URLSearchParams(String(token?.init.body));
    expect(form.get("grant_type")).toBe("authorization_code");
    expect(form.get("code")).toBe("the-code");
    expect(form.get("redirect_uri")).toBe(REDIRECT);
    expect(form.get("code_verifier")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(getId?.url).toBe("https://cognito-identity.eu-west-1.amazonaws.com/");
    expect(JSON.parse(String(getId?.init.body))).toEqual({
      IdentityPoolId: config.identityPoolId,
      Logins: { "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf": jwt({ email: "ops@example.com" }) },
    });
    expect(JSON.parse(String(credentials?.init.body)).IdentityId).toBe("eu-west-1:identity-1");
    // Assess: the API request is signed for execute-api in the region, with the session token
    const headers = new Headers(api?.init.headers);
    expect(api?.url).toBe(`${config.apiUrl}/v1/messages/c2c_x`);
    expect(api?.init.method).toBe("PATCH");
    expect(headers.get("authorization")).toMatch(
      /^AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[^,]*if-match[^,]*, Signature=[0-9a-f]{64}$/,
    );
    expect(headers.get("x-amz-security-token")).toBe("session-token");
    expect(headers.get("idempotency-key")).toBe("k");
    expect(api?.init.body).toBe('{"text":"hi"}');
  });

  it("refuses a way back whose state does not match, and an error from managed login", async () => {
    // Prepare
    const { deps } = world();
    await signInUrl(config, REDIRECT, deps);
    // Act + Assess
    await expect(
      finishSignIn(config, REDIRECT, new URLSearchParams({ code: "c", state: "forged" }), deps),
    ).rejects.toThrow(SignInError);
    await expect(
      finishSignIn(
        config,
        REDIRECT,
        new URLSearchParams({ error: "access_denied", error_description: "no" }),
        deps,
      ),
    ).rejects.toThrow("Sign-in failed: no.");
    expect(await finishSignIn(config, REDIRECT, new URLSearchParams(), deps)).toBeUndefined();
  });

  it("asks to sign in again once the credentials have expired, without calling the API", async () => {
    // Prepare
    const { calls, deps } = world({ expiration: NOW / 1000 - 1 });
    const state = new URL(await signInUrl(config, REDIRECT, deps)).searchParams.get("state") ?? "";
    const session = await finishSignIn(config, REDIRECT, new URLSearchParams({ code: "c", state }), deps);
    const before = calls.length;
    // Act + Assess
    await expect(session?.fetcher(`${config.apiUrl}/v1/edits`, { method: "GET" })).rejects.toThrow(/expired/);
    expect(calls.length).toBe(before);
  });

  it("derives the redirect and logout addresses, and reads who signed in for display", () => {
    // Act + Assess
    expect(redirectUriOf({ origin: "https://d111.cloudfront.net", pathname: "/index.html" })).toBe(REDIRECT);
    expect(redirectUriOf({ origin: "http://127.0.0.1:3000", pathname: "/console/" })).toBe(
      "http://127.0.0.1:3000/console/",
    );
    const logout = new URL(signOutUrl(config, REDIRECT));
    expect(logout.pathname).toBe("/logout");
    expect(logout.searchParams.get("logout_uri")).toBe(REDIRECT);
    expect(whoOf(jwt({ "cognito:username": "ops" }))).toBe("ops");
    expect(whoOf("garbage")).toBe("operator");
  });
});
