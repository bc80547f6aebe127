import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { actorOf } from "../../../functions/api/http.ts";

const SUB = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
const POOL = "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123";
const ROLE_SESSION =
  "arn:aws:sts::123456789012:assumed-role/ImEdit-ConsoleOperator/CognitoIdentityCredentials";

/** A `/v1` event whose request context carries `authorizer` as API Gateway's IAM authorizer writes it. */
const eventWith = (authorizer: unknown): APIGatewayProxyEventV2 =>
  ({
    routeKey: "PATCH /v1/messages/{id}",
    requestContext: { timeEpoch: 0, ...(authorizer === undefined ? {} : { authorizer }) },
  }) as unknown as APIGatewayProxyEventV2;

const iam = (fields: Record<string, unknown>) => ({ iam: { accountId: "123456789012", ...fields } });

describe("actorOf", () => {
  it("names an operator signed in through the console's identity pool by their user pool sub", () => {
    // Prepare: the amr API Gateway passes on for identity pool credentials from a user pool sign-in.
    const event = eventWith(
      iam({
        userArn: ROLE_SESSION,
        cognitoIdentity: {
          identityId: "eu-west-1:11111111-2222-3333-4444-555555555555",
          identityPoolId: "eu-west-1:66666666-7777-8888-9999-000000000000",
          amr: ["authenticated", POOL, `${POOL}:CognitoSignIn:${SUB}`],
        },
      }),
    );

    // Act
    const actor = actorOf(event, { "x-actor": "someone-else" });

    // Assess: the sub, not the shared role's session nor a header the caller chose.
    expect(actor).toBe(`cognito:${SUB}`);
  });

  it("falls back to the IAM caller's ARN when the identity has no user pool sign-in", () => {
    const unauthenticated = iam({
      userArn: ROLE_SESSION,
      cognitoIdentity: { amr: ["unauthenticated"] },
    });
    const plainIam = iam({ userArn: "arn:aws:iam::123456789012:user/ops", cognitoIdentity: null });

    expect(actorOf(eventWith(unauthenticated), {})).toBe(ROLE_SESSION);
    expect(actorOf(eventWith(plainIam), { "x-actor": "ignored" })).toBe("arn:aws:iam::123456789012:user/ops");
  });

  it("ignores an amr entry that is not a user pool sign-in (another provider, a malformed sub)", () => {
    const event = eventWith(
      iam({
        userArn: ROLE_SESSION,
        cognitoIdentity: {
          amr: [
            "authenticated",
            "graph.facebook.com:CognitoSignIn:123",
            `${POOL}:CognitoSignIn:not a sub`,
            `${POOL}:CognitoSignIn:`,
          ],
        },
      }),
    );

    expect(actorOf(event, {})).toBe(ROLE_SESSION);
  });

  it("locally (no authorizer) takes X-Actor, capped at 256 characters, else api", () => {
    expect(actorOf(eventWith(undefined), { "x-actor": "dpo" })).toBe("dpo");
    expect(actorOf(eventWith(undefined), { "x-actor": "a".repeat(300) })).toHaveLength(256);
    expect(actorOf(eventWith(undefined), {})).toBe("api");
    // An authorizer of another shape (not IAM) is no identity either.
    expect(actorOf(eventWith({ jwt: { claims: { sub: SUB } } }), {})).toBe("api");
  });
});
