import { runInNewContext } from "node:vm";
import { App } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import { Asset } from "aws-cdk-lib/aws-s3-assets";
import { describe, expect, it } from "vitest";
import { CONSOLE_INDEX_FUNCTION } from "../../infra/constructs/console-hosting.ts";
import { CONSOLE_CORS } from "../../infra/constructs/operator-console.ts";
import { PropsError } from "../../infra/constructs/props.ts";
import { CONSOLE_BUILD_DIR, propsFromContext } from "../../infra/context.ts";
import { ImEditStack } from "../../infra/stacks/im-edit-stack.ts";
import {
  buildStack,
  CALLBACK_TOKEN_ARN,
  CONSOLE_PROPS,
  contextOf,
  fixture,
  grantsOf,
  logicalId,
  PROPS,
  pairs,
  resolved,
  SECRET_KEY_ARN,
  TENCENT_REQUIRED,
} from "./helpers.ts";

// One synthesis with the console, one without (the default props), shared by every test below.
const withConsole = buildStack(CONSOLE_PROPS);
const without = buildStack(PROPS);

const appWithoutStaging = () =>
  new App({ context: { "aws:cdk:bundling-stacks": [], "aws:cdk:disable-asset-staging": true } });

const consoleOf = (stack: ImEditStack) => {
  if (!stack.console) throw new Error("no console in this stack");
  return stack.console;
};

/** A template value as one string: Fn::Join joined, a Ref as <Id>, a GetAtt as <Id.Attr>. */
function text(value: unknown): string {
  if (typeof value === "string") return value;
  const node = value as Record<string, unknown>;
  if ("Fn::Join" in node) {
    const [separator, parts] = node["Fn::Join"] as [string, unknown[]];
    return parts.map(text).join(separator);
  }
  if ("Ref" in node) return `<${String(node.Ref)}>`;
  if ("Fn::GetAtt" in node) return `<${(node["Fn::GetAtt"] as string[]).join(".")}>`;
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/** The only resource of a type in the template, its properties. */
function only(type: string): Record<string, unknown> {
  const found = Object.values(withConsole.template.findResources(type));
  expect(found).toHaveLength(1);
  return (found[0] as { Properties: Record<string, unknown> }).Properties;
}

describe("operator console: static files", () => {
  it("a private, encrypted, TLS-only bucket that only the distribution reads (origin access control)", () => {
    // Prepare
    const { stack, template } = withConsole;
    const console = consoleOf(stack);

    // Assess
    template.hasResourceProperties("AWS::S3::Bucket", {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] },
    });
    const policy = only("AWS::S3::BucketPolicy").PolicyDocument as { Statement: Record<string, unknown>[] };
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({
        Effect: "Deny",
        Action: "s3:*",
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      }),
    );
    // CloudFront alone reads, and only for this distribution (OAC signs its requests with SigV4).
    const reads = policy.Statement.filter((statement) => statement.Effect === "Allow");
    expect(reads).toEqual([
      expect.objectContaining({
        Action: "s3:GetObject",
        Principal: { Service: "cloudfront.amazonaws.com" },
        Condition: {
          StringEquals: {
            "AWS:SourceArn": expect.anything(),
          },
        },
      }),
    ]);
    expect(only("AWS::CloudFront::OriginAccessControl")).toMatchObject({
      OriginAccessControlConfig: {
        OriginAccessControlOriginType: "s3",
        SigningBehavior: "always",
        SigningProtocol: "sigv4",
      },
    });
    const distribution = only("AWS::CloudFront::Distribution").DistributionConfig as Record<string, unknown>;
    expect(distribution).toMatchObject({
      Origins: [
        {
          OriginAccessControlId: { "Fn::GetAtt": [expect.any(String), "Id"] },
          S3OriginConfig: { OriginAccessIdentity: "" },
        },
      ],
    });
    expect(resolved(stack, console.bucket.bucketName)).toEqual({ Ref: logicalId(console.bucket) });
  });

  it("HTTPS only: HTTP redirects, GET and HEAD only; /console/ is index.html, / and /console go there", () => {
    // Prepare
    const distribution = only("AWS::CloudFront::Distribution").DistributionConfig as Record<string, unknown>;
    const handler = runInNewContext(`${CONSOLE_INDEX_FUNCTION}; handler`) as (event: unknown) => unknown;
    const visit = (uri: string) => handler({ request: { uri, querystring: {} } });

    // Assess
    expect(distribution.DefaultCacheBehavior).toMatchObject({
      ViewerProtocolPolicy: "redirect-to-https",
      AllowedMethods: ["GET", "HEAD"],
      FunctionAssociations: [{ EventType: "viewer-request" }],
    });
    expect(only("AWS::CloudFront::Function")).toMatchObject({
      FunctionCode: CONSOLE_INDEX_FUNCTION,
      FunctionConfig: { Runtime: "cloudfront-js-2.0" },
    });
    expect(visit("/console/")).toEqual({ uri: "/console/index.html", querystring: {} });
    expect(visit("/console/main.js")).toEqual({ uri: "/console/main.js", querystring: {} });
    expect(visit("/console/config.json")).toEqual({ uri: "/console/config.json", querystring: {} });
    for (const uri of ["/", "/console"]) {
      expect(visit(uri)).toMatchObject({ statusCode: 301, headers: { location: { value: "/console/" } } });
    }
  });

  it("a strict CSP (no inline or eval, its own scripts and styles, no framing) and the security headers", () => {
    // Prepare
    const { SecurityHeadersConfig: headers, CustomHeadersConfig: custom } = only(
      "AWS::CloudFront::ResponseHeadersPolicy",
    ).ResponseHeadersPolicyConfig as {
      SecurityHeadersConfig: { ContentSecurityPolicy: { ContentSecurityPolicy: unknown } };
      CustomHeadersConfig: { Items: unknown[] };
    };
    const csp = text(headers.ContentSecurityPolicy.ContentSecurityPolicy);
    const directives = Object.fromEntries(
      csp.split("; ").map((directive) => {
        const [name = "", ...sources] = directive.split(" ");
        return [name, sources];
      }),
    );
    const domain = logicalId(consoleOf(withConsole.stack).domain);

    // Assess
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|unsafe-hashes|\*\s|'strict-dynamic'/);
    expect(directives).toEqual({
      "default-src": ["'none'"],
      "script-src": ["'self'"],
      "style-src": ["'self'"],
      "img-src": ["'self'", "data:"],
      "connect-src": [
        "'self'",
        "https://*.execute-api.<AWS::Region>.<AWS::URLSuffix>",
        `https://<${domain}>.auth.<AWS::Region>.amazoncognito.com`,
        "https://cognito-identity.<AWS::Region>.amazonaws.com",
      ],
      "base-uri": ["'none'"],
      "form-action": ["'none'"],
      "frame-ancestors": ["'none'"],
    });
    expect(headers).toMatchObject({
      ContentSecurityPolicy: { Override: true },
      StrictTransportSecurity: {
        AccessControlMaxAgeSec: 730 * 86_400,
        IncludeSubdomains: true,
        Override: true,
      },
      ContentTypeOptions: { Override: true },
      FrameOptions: { FrameOption: "DENY", Override: true },
      ReferrerPolicy: { ReferrerPolicy: "no-referrer", Override: true },
    });
    expect(custom.Items).toContainEqual({
      Header: "Cross-Origin-Opener-Policy",
      Value: "same-origin",
      Override: true,
    });
  });

  it("deploys the built console and its config.json under console/, then invalidates /console/*", () => {
    // Prepare
    const { stack, template } = withConsole;
    const console = consoleOf(stack);
    const deployment = only("Custom::CDKBucketDeployment");
    const assets = console.node
      .findAll()
      .filter((construct): construct is Asset => construct instanceof Asset)
      .map((asset) => asset.assetPath);
    const config = resolved(stack, console.config) as Record<string, unknown>;

    // Assess
    expect(assets).toContain(fixture("console"));
    expect(deployment).toMatchObject({
      DestinationBucketName: { Ref: logicalId(console.bucket) },
      DestinationBucketKeyPrefix: "console/",
      DistributionId: { Ref: logicalId(console.distribution) },
      DistributionPaths: ["/console/*"],
      Prune: true,
      RetainOnDelete: false,
      SystemMetadata: { "cache-control": "no-cache" },
    });
    // config.json: its deploy-time values filled in by the deployment (one marker each, JSON-escaped).
    expect(Object.keys((deployment.SourceMarkers as Record<string, unknown>[])[1] ?? {})).toHaveLength(7);
    expect(deployment.SourceMarkersConfig).toEqual([{}, { jsonEscape: true }]);
    expect(Object.fromEntries(Object.entries(config).map(([key, field]) => [key, text(field)]))).toEqual({
      mode: "cognito",
      apiUrl: `<${logicalId(stack.api.api)}.ApiEndpoint>`,
      region: "<AWS::Region>",
      userPoolId: `<${logicalId(console.userPool)}>`,
      userPoolClientId: `<${logicalId(console.client)}>`,
      identityPoolId: `<${stack.getLogicalId(console.identityPool)}>`,
      domain: `https://<${logicalId(console.domain)}>.auth.<AWS::Region>.amazoncognito.com`,
    });
    template.resourceCountIs("Custom::CDKBucketDeployment", 1);
  });
});

describe("operator console: sign-in and credentials", () => {
  it("operators are created by an administrator, need a strong password and an authenticator app", () => {
    expect(only("AWS::Cognito::UserPool")).toMatchObject({
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: "ON",
      EnabledMfas: ["SOFTWARE_TOKEN_MFA"],
      UsernameAttributes: ["email"],
      UserPoolTier: "ESSENTIALS",
      Policies: {
        PasswordPolicy: {
          MinimumLength: 12,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
          TemporaryPasswordValidityDays: 3,
        },
      },
    });
    // Kept when the stack goes: an operator's sub is the actor of their versions.
    withConsole.template.hasResource("AWS::Cognito::UserPool", { DeletionPolicy: "Retain" });
  });

  it("a public client: authorization code only (the console adds PKCE), back to the console's own URL", () => {
    // Prepare
    const console = consoleOf(withConsole.stack);
    const url = `https://<${logicalId(console.distribution)}.DomainName>/console/`;
    const client = only("AWS::Cognito::UserPoolClient");

    // Assess
    expect(client).toMatchObject({
      GenerateSecret: false,
      AllowedOAuthFlows: ["code"],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: ["openid", "email", "profile"],
      SupportedIdentityProviders: ["COGNITO"],
      PreventUserExistenceErrors: "ENABLED",
    });
    expect((client.CallbackURLs as unknown[]).map(text)).toEqual([url]);
    expect((client.LogoutURLs as unknown[]).map(text)).toEqual([url]);
    // The managed login, on <stack name>-<account> by default.
    expect(only("AWS::Cognito::UserPoolDomain")).toMatchObject({ ManagedLoginVersion: 2 });
    expect(text(only("AWS::Cognito::UserPoolDomain").Domain)).toBe("test-<AWS::AccountId>");
    expect(only("AWS::Cognito::ManagedLoginBranding")).toMatchObject({ UseCognitoProvidedValues: true });
  });

  it("the identity pool: signed-in operators only, no unauthenticated role, tokens checked with the pool", () => {
    // Prepare
    const console = consoleOf(withConsole.stack);

    // Assess
    expect(only("AWS::Cognito::IdentityPool")).toMatchObject({
      AllowUnauthenticatedIdentities: false,
      AllowClassicFlow: false,
      CognitoIdentityProviders: [
        {
          ClientId: { Ref: logicalId(console.client) },
          ServerSideTokenCheck: true,
        },
      ],
    });
    expect(only("AWS::Cognito::IdentityPoolRoleAttachment").Roles).toEqual({
      authenticated: { "Fn::GetAtt": [logicalId(console.operatorRole), "Arn"] },
    });
  });

  it("an operator's credentials may call execute-api:Invoke on the API's /v1/* and nothing else", () => {
    // Prepare
    const { stack, template } = withConsole;
    const role = consoleOf(stack).operatorRole;
    const properties = template.findResources("AWS::IAM::Role")[logicalId(role)]?.Properties;

    // Act
    const grants = grantsOf(template, logicalId(role));

    // Assess
    expect(grants).toEqual(
      pairs(
        ["execute-api:Invoke"],
        [resolved(stack, stack.api.api.arnForExecuteApi("*", "/v1/*", "$default"))],
      ),
    );
    expect(text(resolved(stack, stack.api.api.arnForExecuteApi("*", "/v1/*", "$default")))).toBe(
      `arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${logicalId(stack.api.api)}>/$default/*/v1/*`,
    );
    expect(properties?.ManagedPolicyArns).toBeUndefined();
    expect(properties?.Policies).toBeUndefined();
    // Assumed through this identity pool only, by authenticated identities only.
    expect(properties?.AssumeRolePolicyDocument).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: "sts:AssumeRoleWithWebIdentity",
          Principal: { Federated: "cognito-identity.amazonaws.com" },
          Condition: {
            StringEquals: {
              "cognito-identity.amazonaws.com:aud": {
                Ref: stack.getLogicalId(consoleOf(stack).identityPool),
              },
            },
            "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": "authenticated" },
          },
        },
      ],
    });
  });

  it("the API answers the console's origin only (CORS), with the methods and headers it sends", () => {
    // Prepare
    const console = consoleOf(withConsole.stack);
    const api = withConsole.template.findResources("AWS::ApiGatewayV2::Api");
    const cors = Object.values(api)[0]?.Properties.CorsConfiguration as Record<string, unknown>;

    // Assess
    expect((cors.AllowOrigins as unknown[]).map(text)).toEqual([
      `https://<${logicalId(console.distribution)}.DomainName>`,
    ]);
    expect(cors).toMatchObject({
      AllowMethods: ["GET", "POST", "PATCH", "DELETE"],
      AllowHeaders: [...CONSOLE_CORS.headers],
      ExposeHeaders: ["etag", "location", "retry-after"],
      MaxAge: 3600,
    });
    expect(cors.AllowCredentials).toBeUndefined();
    for (const header of ["authorization", "if-match", "idempotency-key", "x-amz-security-token"]) {
      expect(cors.AllowHeaders).toContain(header);
    }
  });

  it("outputs the console URL, the pools and a command that creates an operator", () => {
    // Prepare
    const { stack, template } = withConsole;
    const console = consoleOf(stack);
    const output = (name: string) => text(template.findOutputs(name)[name]?.Value);

    // Assess
    expect(output("ConsoleUrl")).toBe(`https://<${logicalId(console.distribution)}.DomainName>/console/`);
    expect(output("ConsoleUserPoolId")).toBe(`<${logicalId(console.userPool)}>`);
    expect(output("ConsoleIdentityPoolId")).toBe(`<${stack.getLogicalId(console.identityPool)}>`);
    expect(output("ConsoleCreateOperator")).toBe(
      `aws cognito-idp admin-create-user --region <AWS::Region> --user-pool-id <${logicalId(console.userPool)}> ` +
        "--username <email> --user-attributes Name=email,Value=<email> Name=email_verified,Value=true",
    );
  });

  it("nothing else gains a grant, and wildcards stay in CDK's own deployment function", () => {
    // Prepare
    const { stack, template } = withConsole;

    // Act: the functions' grants as in the stack without the console.
    const editor = grantsOf(template, logicalId(stack.editor.role));
    const recorder = grantsOf(template, logicalId(stack.recorder.role));

    // Assess
    expect(editor).toEqual(grantsOf(without.template, logicalId(without.stack.editor.role)));
    expect(recorder).toEqual(grantsOf(without.template, logicalId(without.stack.recorder.role)));
    expect(editor).toContain(pairs(["secretsmanager:GetSecretValue"], [SECRET_KEY_ARN])[0]);
    expect(recorder).toContain(pairs(["secretsmanager:GetSecretValue"], [CALLBACK_TOKEN_ARN])[0]);
    const wildcardRoles = Object.entries(template.findResources("AWS::IAM::Policy"))
      .filter(([, policy]) =>
        (policy.Properties.PolicyDocument.Statement as { Action: string | string[] }[]).some((statement) =>
          [statement.Action].flat().some((action) => action.includes("*")),
        ),
      )
      .map(([id]) => id);
    expect(wildcardRoles).toEqual([expect.stringMatching(/^CustomCDKBucketDeployment/)]);
  });
});

describe("operator console: on and off", () => {
  it("without the console props: no bucket, distribution, pools or CORS, no console outputs", () => {
    // Prepare
    const { stack, template } = without;

    // Assess
    expect(stack.console).toBeUndefined();
    for (const type of [
      "AWS::S3::Bucket",
      "AWS::CloudFront::Distribution",
      "AWS::Cognito::UserPool",
      "AWS::Cognito::IdentityPool",
      "Custom::CDKBucketDeployment",
    ]) {
      template.resourceCountIs(type, 0);
    }
    template.hasResourceProperties("AWS::ApiGatewayV2::Api", { CorsConfiguration: Match.absent() });
    expect(Object.keys(template.findOutputs("Console*"))).toEqual([]);
    expect(Object.keys(template.toJSON().Outputs).filter((name) => name.startsWith("Console"))).toEqual([]);
  });

  it("the CDK app: on by default (built into console/dist), -c console=off leaves it out", () => {
    // Prepare
    const context = (values: Record<string, string>) =>
      propsFromContext(contextOf({ ...TENCENT_REQUIRED, ...values }));

    // Act
    const byDefault = context({});
    const named = context({ consoleDomainPrefix: "acme-moderation" });
    const off = context({ console: "off" });
    const bad = context({ console: "maybe" });
    const prefixWhenOff = context({ console: "off", consoleDomainPrefix: "acme-moderation" });

    // Assess
    expect(byDefault.ok && byDefault.props.console).toEqual({ assetsPath: CONSOLE_BUILD_DIR });
    expect(CONSOLE_BUILD_DIR).toMatch(/console\/dist$/);
    expect(named.ok && named.props.console).toEqual({
      assetsPath: CONSOLE_BUILD_DIR,
      domainPrefix: "acme-moderation",
    });
    expect(off.ok && off.props.console).toBeUndefined();
    expect(!bad.ok && bad.message).toMatch(/-c console: "maybe" is not on or off/);
    expect(!prefixWhenOff.ok && prefixWhenOff.message).toMatch(
      /-c consoleDomainPrefix: applies with the console on/,
    );
  });

  it("refuses a sign-in domain prefix Cognito would refuse, a stack name that makes no default, no build", () => {
    // Prepare
    const build =
      (stackName: string, domainPrefix?: string, assetsPath = fixture("console")) =>
      () =>
        new ImEditStack(appWithoutStaging(), stackName, {
          ...PROPS,
          console: {
            assetsPath,
            ...(domainPrefix !== undefined ? { domainPrefix } : {}),
          },
        });

    // Assess
    for (const prefix of ["Acme", "-acme", "acme-", "my-aws-console", "cognito-ops", "a".repeat(64)]) {
      expect(build("ImEdit", prefix)).toThrow(PropsError);
      expect(build("ImEdit", prefix)).toThrow(/consoleDomainPrefix: .* is not a Cognito domain prefix/);
    }
    expect(build("AmazonModeration")).toThrow(/the default \(<stack name>-<account>\) cannot be made/);
    expect(build("ImEdit", undefined, fixture("empty-handler.ts"))).toThrow(
      /has no index.html; build the console/,
    );
    expect(build("AmazonModeration", "acme-moderation")).not.toThrow();
  });
});
