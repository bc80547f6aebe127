import { existsSync } from "node:fs";
import { join } from "node:path";
import { type CfnElement, Duration, Stack, Token, Validations } from "aws-cdk-lib";
import { CorsHttpMethod, type CorsPreflightOptions, type HttpApi } from "aws-cdk-lib/aws-apigatewayv2";
import type { Distribution } from "aws-cdk-lib/aws-cloudfront";
import type { CfnIdentityPool, UserPool, UserPoolClient, UserPoolDomain } from "aws-cdk-lib/aws-cognito";
import { PolicyStatement, type Role } from "aws-cdk-lib/aws-iam";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { createOperatorPool, createOperatorSignIn } from "./console-auth.ts";
import { asNagWrites, type ConsoleConfig, deployConsole } from "./console-deployment.ts";
import { CONSOLE_PATH, createAssetsBucket, createConsoleDistribution } from "./console-hosting.ts";
import { known, Problems } from "./props.ts";

/**
 * Requests from the browser the API answers (CORS): the console's methods and the headers it sends, those
 * SigV4 adds included. No credentials mode: the signature is the credential, never a cookie.
 */
export const CONSOLE_CORS = {
  methods: ["GET", "POST", "PATCH", "DELETE"],
  headers: [
    "authorization",
    "content-type",
    "if-match",
    "idempotency-key",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
  ],
  /** What the console reads from answers: the version an edit produced, a job's URL, a throttle's wait. */
  exposeHeaders: ["etag", "location", "retry-after"],
  maxAge: Duration.hours(1),
} as const;

/** A Cognito domain prefix: lowercase letters, digits and inner hyphens, 1-63, without AWS's reserved words. */
const DOMAIN_PREFIX = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const RESERVED_IN_PREFIX = /aws|amazon|cognito/;

export interface OperatorConsoleProps {
  /** The built console (console/build.ts `buildConsole(outDir)`): index.html, its script and styles. */
  readonly assetsPath: string;
  /**
   * The managed login's domain prefix, `<prefix>.auth.<region>.amazoncognito.com`, unique in the region.
   * @default `<stack name, lowercase>-<account>`
   */
  readonly domainPrefix?: string;
  /** For the deployment's own function's logs. */
  readonly logRetention: RetentionDays;
}

/**
 * The operator console in AWS: its static files in a private bucket behind CloudFront (origin access
 * control, HTTPS only, a strict CSP and the usual security headers), operators in a Cognito user pool
 * (admin-created, MFA required) signing in through the managed login (authorization code + PKCE), and an
 * identity pool exchanging their ID token for an hour of IAM credentials that may only call the API's
 * `/v1` routes; the browser signs its requests with them (SigV4), so the API keeps its IAM authorizer and
 * the editor names the operator (`cognito:<sub>`) as the actor of their edits. `bindApi` completes it.
 */
export class OperatorConsole extends Construct {
  readonly bucket: IBucket;
  readonly distribution: Distribution;
  readonly userPool: UserPool;
  readonly client: UserPoolClient;
  readonly domain: UserPoolDomain;
  readonly identityPool: CfnIdentityPool;
  /** The role every signed-in operator's credentials come from: execute-api:Invoke on `/v1/*`, once bound. */
  readonly operatorRole: Role;
  /** `https://<distribution>`, the origin the API's CORS allows. */
  readonly origin: string;
  /** `https://<distribution>/console/`, the console and the sign-in's redirect. */
  readonly url: string;
  /** A one-line `aws cognito-idp admin-create-user` for a new operator (email placeholder). */
  readonly createOperatorCommand: string;
  private readonly props: OperatorConsoleProps;
  private configJson?: ConsoleConfig;

  /** Every problem with these props: the constructor throws them, the stack checks them ahead with its own. */
  static problems(props: {
    readonly assetsPath: string;
    readonly domainPrefix?: string | undefined;
    /** The stack's name, which the default prefix is made of. */
    readonly stackName: string;
  }): readonly string[] {
    const { assetsPath, domainPrefix, stackName } = props;
    return new Problems("OperatorConsole")
      .check(
        existsSync(join(assetsPath, "index.html")),
        `console: ${assetsPath} has no index.html; build the console there first (console/build.ts buildConsole, ` +
          "as the CDK app does) or deploy with -c console=off",
      )
      .check(
        domainPrefix === undefined ||
          !known(domainPrefix) ||
          (DOMAIN_PREFIX.test(domainPrefix) && !RESERVED_IN_PREFIX.test(domainPrefix)),
        `consoleDomainPrefix: ${JSON.stringify(domainPrefix)} is not a Cognito domain prefix (lowercase letters, ` +
          "digits and hyphens, 1-63, not starting or ending with a hyphen, without aws, amazon or cognito)",
      )
      .check(
        domainPrefix !== undefined || domainPrefixFits(stackName),
        `consoleDomainPrefix: the default (<stack name>-<account>) cannot be made from the stack name ` +
          `${JSON.stringify(stackName)}; give one with -c consoleDomainPrefix`,
      ).list;
  }

  /** The default domain prefix for a stack name, when the name makes one (else the stack asks for it). */
  static defaultDomainPrefix(stackName: string, account: string): string {
    return `${stackName.toLowerCase().replaceAll(/[^a-z0-9-]/g, "-")}-${account}`;
  }

  constructor(scope: Construct, id: string, props: OperatorConsoleProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const domainPrefix =
      props.domainPrefix ?? OperatorConsole.defaultDomainPrefix(stack.stackName, stack.account);
    new Problems(`OperatorConsole ${this.node.path}`)
      .add(OperatorConsole.problems({ ...props, stackName: stack.stackName }))
      .throwIfAny();
    this.props = props;

    this.bucket = createAssetsBucket(this);
    const pool = createOperatorPool(this, domainPrefix);
    this.userPool = pool.userPool;
    this.domain = pool.domain;
    // The console fetches tokens from the sign-in domain: its CSP names it, and the client's URLs the console.
    this.distribution = createConsoleDistribution(this, this.bucket, this.domain.baseUrl());
    this.origin = `https://${this.distribution.distributionDomainName}`;
    this.url = `${this.origin}${CONSOLE_PATH}`;

    const signIn = createOperatorSignIn(this, this.userPool, this.url);
    this.client = signIn.client;
    this.identityPool = signIn.identityPool;
    this.operatorRole = signIn.operatorRole;

    this.createOperatorCommand =
      `aws cognito-idp admin-create-user --region ${stack.region} --user-pool-id ${this.userPool.userPoolId} ` +
      "--username <email> --user-attributes Name=email,Value=<email> Name=email_verified,Value=true";
  }

  /** What config.json says (CDK tokens until deploy), once `bindApi` named the API. */
  get config(): ConsoleConfig | undefined {
    return this.configJson;
  }

  /** The API's CORS for the console: its origin, the methods and headers it sends, the headers it reads. */
  get cors(): CorsPreflightOptions {
    return {
      allowOrigins: [this.origin],
      allowMethods: CONSOLE_CORS.methods.map((method) => CorsHttpMethod[method]),
      allowHeaders: [...CONSOLE_CORS.headers],
      exposeHeaders: [...CONSOLE_CORS.exposeHeaders],
      maxAge: CONSOLE_CORS.maxAge,
    };
  }

  /**
   * Lets operators call `api`'s `/v1` routes (nothing else, not even the open ones), and writes the console
   * and its config.json, which names the API, to the bucket.
   */
  bindApi(api: HttpApi): this {
    this.operatorRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["execute-api:Invoke"],
        resources: [api.arnForExecuteApi("*", "/v1/*", "$default")],
      }),
    );
    const { region, account } = asNagWrites(Stack.of(this));
    const apiId = Stack.of(this).getLogicalId(api.node.defaultChild as CfnElement);
    Validations.of(this.operatorRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:${region}:${account}:<${apiId}>/$default/*/v1/*]`,
      reason:
        "Every /v1 route, any method, on the API's only stage: what an operator may do is decided per route by " +
        "the editor, and the wildcards stop at /v1 (no callback route, no other API).",
    });

    const stack = Stack.of(this);
    const config: ConsoleConfig = {
      mode: "cognito",
      apiUrl: api.apiEndpoint,
      region: stack.region,
      userPoolId: this.userPool.userPoolId,
      userPoolClientId: this.client.userPoolClientId,
      identityPoolId: this.identityPool.ref,
      domain: this.domain.baseUrl(),
    };
    this.configJson = config;
    deployConsole(this, {
      bucket: this.bucket,
      distribution: this.distribution,
      assetsPath: this.props.assetsPath,
      config,
      logRetention: this.props.logRetention,
    });
    return this;
  }
}

/** Whether `<stack name>-<12-digit account>` makes a valid domain prefix (the stack name is literal). */
function domainPrefixFits(stackName: string): boolean {
  if (Token.isUnresolved(stackName)) return false;
  const prefix = OperatorConsole.defaultDomainPrefix(stackName, "123456789012");
  return DOMAIN_PREFIX.test(prefix) && !RESERVED_IN_PREFIX.test(prefix);
}
