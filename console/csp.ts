/**
 * The console's Content-Security-Policy: scripts and styles from its own origin only (no inline ones),
 * no plugins, frames or form posts, and connections to its own origin plus what `connect` names (in AWS
 * the API's origin, the Cognito domain and the identity pool's endpoint; locally nothing else).
 */
export function consoleCsp(connect: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${["'self'", ...connect].join(" ")}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * What a Cognito-mode console connects to besides its own origin: the API, the managed-login domain (its
 * token endpoint) and the identity pool's endpoint. Plain strings in, so CDK tokens pass through.
 */
export function cognitoConnectSources(origins: {
  /** `https://<api-id>.execute-api.<region>.amazonaws.com` (no path). */
  readonly apiOrigin: string;
  /** `https://<prefix>.auth.<region>.amazoncognito.com`. */
  readonly domainOrigin: string;
  readonly region: string;
}): string[] {
  return [
    origins.apiOrigin,
    origins.domainOrigin,
    `https://cognito-identity.${origins.region}.amazonaws.com`,
  ];
}
