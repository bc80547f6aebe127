import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  Aws,
  type CfnElement,
  DefaultStackSynthesizer,
  Duration,
  RemovalPolicy,
  Stack,
  Token,
  Validations,
} from "aws-cdk-lib";
import { CorsHttpMethod, type CorsPreflightOptions, type HttpApi } from "aws-cdk-lib/aws-apigatewayv2";
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  Function as EdgeFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from "aws-cdk-lib/aws-cloudfront";
import { S3BucketOrigin } from "aws-cdk-lib/aws-cloudfront-origins";
import {
  AccountRecovery,
  CfnIdentityPool,
  CfnIdentityPoolRoleAttachment,
  CfnManagedLoginBranding,
  FeaturePlan,
  ManagedLoginVersion,
  Mfa,
  OAuthScope,
  UserPool,
  type UserPoolClient,
  UserPoolClientIdentityProvider,
  type UserPoolDomain,
} from "aws-cdk-lib/aws-cognito";
import { FederatedPrincipal, PolicyStatement, Role } from "aws-cdk-lib/aws-iam";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  ObjectOwnership,
} from "aws-cdk-lib/aws-s3";
import { BucketDeployment, CacheControl, Source } from "aws-cdk-lib/aws-s3-deployment";
import { Construct } from "constructs";
import { cognitoConnectSources, consoleCsp } from "../../console/csp.ts";
import { known, Problems } from "./props.ts";

/** The console's path on its distribution, as the app's base path (`/console/` locally too). */
export const CONSOLE_PATH = "/console/";

/** What the console reads at `/console/config.json` to sign operators in and call the API (Cognito mode). */
export interface ConsoleConfig {
  readonly mode: "cognito";
  readonly apiUrl: string;
  readonly region: string;
  readonly userPoolId: string;
  readonly userPoolClientId: string;
  readonly identityPoolId: string;
  /** The managed login's base URL, `https://<prefix>.auth.<region>.amazoncognito.com`. */
  readonly domain: string;
}

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

/**
 * Rewrites `/console/` to its index.html (S3 has no directory index behind origin access control) and sends
 * the bare origin and `/console` there. cloudfront-js-2.0; exported for its unit test.
 */
export const CONSOLE_INDEX_FUNCTION = `function handler(event) {
  var request = event.request;
  if (request.uri === "/" || request.uri === "${CONSOLE_PATH.slice(0, -1)}") {
    return { statusCode: 301, statusDescription: "Moved Permanently", headers: { location: { value: "${CONSOLE_PATH}" } } };
  }
  if (request.uri.endsWith("/")) request.uri += "index.html";
  return request;
}`;

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

    // Only CloudFront reads it (origin access control); nothing in it is secret, all of it is rebuilt from
    // the repository at each deploy, so no versions are kept and it goes with the stack.
    // Bucket implements IBucket, but its isWebsite getter (boolean | undefined) does not satisfy the
    // interface's optional property under exactOptionalPropertyTypes.
    this.bucket = new Bucket(this, "Assets", {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      removalPolicy: RemovalPolicy.DESTROY,
    }) as IBucket;
    Validations.of(this.bucket).acknowledge({
      id: "AwsSolutions-S1",
      reason:
        "The console's static files, read only by CloudFront through origin access control and written only " +
        "by the deployment (CloudTrail has both): an access log would list downloads of public JavaScript. " +
        "What operators do goes through the API, whose access log names each caller.",
    });

    this.userPool = new UserPool(this, "Operators", {
      // Operators are created by an administrator (admin-create-user), never by themselves.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      // They edit other people's messages: a password alone is not enough. TOTP (an authenticator app)
      // only: SMS costs per message and needs an SNS role; the managed login enrols it at first sign-in.
      mfa: Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      // Without the console's URL: the distribution's CSP names this pool's domain, so the pool cannot name it.
      userInvitation: {
        emailSubject: "Your im-edit operator account",
        emailBody:
          "You are an operator of the im-edit console. Sign in with {username} and the temporary password " +
          "{####} within 3 days: you will choose your own password and set up an authenticator app. Your " +
          "administrator gives you the console's address.",
      },
      // Essentials: the managed login; free up to 10,000 monthly active users.
      featurePlan: FeaturePlan.ESSENTIALS,
      // An operator's sub is the actor of their edits: keep the pool (and the subs) if the stack goes.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.userPool).acknowledge({
      id: "AwsSolutions-COG3",
      reason:
        "Threat protection (advanced security) needs the Plus feature plan, billed for every monthly active " +
        "user with no free tier. Operators are few, created by an administrator, and sign in with a strong " +
        "password and a required authenticator app (TOTP).",
    });
    Validations.of(this.userPool).acknowledge({
      id: "AwsSolutions-COG8",
      reason:
        "The Plus feature plan (threat protection) is billed for every monthly active user with no free tier; " +
        "Essentials has what the console needs (managed login, MFA) and is free up to 10,000 of them.",
    });

    this.domain = this.userPool.addDomain("SignIn", {
      cognitoDomain: { domainPrefix },
      managedLoginVersion: ManagedLoginVersion.NEWER_MANAGED_LOGIN,
    });
    // The console fetches tokens from the sign-in domain: its CSP names it, and the client's URLs the console.
    this.distribution = this.createDistribution(this.domain.baseUrl());
    this.origin = `https://${this.distribution.distributionDomainName}`;
    this.url = `${this.origin}${CONSOLE_PATH}`;

    this.client = this.userPool.addClient("Console", {
      // A browser app: public client, no secret; the console sends a PKCE challenge with every sign-in.
      generateSecret: false,
      authFlows: { userSrp: true },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
        callbackUrls: [this.url],
        logoutUrls: [this.url],
      },
      supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      // A working day at most; the console keeps tokens in memory (or the tab's session storage) only.
      refreshTokenValidity: Duration.hours(12),
    });
    // The newer managed login needs a style per client; Cognito's own.
    new CfnManagedLoginBranding(this, "SignInBranding", {
      userPoolId: this.userPool.userPoolId,
      clientId: this.client.userPoolClientId,
      useCognitoProvidedValues: true,
    });

    // Signed-in operators only: no unauthenticated identities, no unauthenticated role; the enhanced flow
    // (GetCredentialsForIdentity) only, and Cognito checks each ID token is still valid (not signed out).
    this.identityPool = new CfnIdentityPool(this, "Identities", {
      allowUnauthenticatedIdentities: false,
      allowClassicFlow: false,
      cognitoIdentityProviders: [
        {
          clientId: this.client.userPoolClientId,
          providerName: this.userPool.userPoolProviderName,
          serverSideTokenCheck: true,
        },
      ],
    });
    this.operatorRole = new Role(this, "OperatorRole", {
      description: "im-edit console operators (Cognito identity pool, authenticated): the /v1 API only",
      assumedBy: new FederatedPrincipal(
        "cognito-identity.amazonaws.com",
        {
          StringEquals: { "cognito-identity.amazonaws.com:aud": this.identityPool.ref },
          "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": "authenticated" },
        },
        "sts:AssumeRoleWithWebIdentity",
      ),
      maxSessionDuration: Duration.hours(1),
    });
    new CfnIdentityPoolRoleAttachment(this, "IdentityRoles", {
      identityPoolId: this.identityPool.ref,
      roles: { authenticated: this.operatorRole.roleArn },
    });

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
    // One deployment for both: a second one to the same prefix would prune the other's files.
    const deployment = new BucketDeployment(this, "Deployment", {
      destinationBucket: this.bucket,
      destinationKeyPrefix: CONSOLE_PATH.slice(1),
      sources: [Source.asset(this.props.assetsPath), Source.jsonData("config.json", config)],
      // Browsers revalidate (ETag), so a deploy shows at the next load; CloudFront's copies are invalidated.
      cacheControl: [CacheControl.noCache()],
      distribution: this.distribution,
      distributionPaths: [`${CONSOLE_PATH}*`],
      // The files go with the stack (the bucket is emptied, then deleted).
      retainOnDelete: false,
      logGroup: new LogGroup(this, "DeploymentLogs", {
        retention: this.props.logRetention,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });
    this.acknowledgeDeploymentHandler(deployment);
    return this;
  }

  /**
   * CDK's deployment function (one per stack, at its root) runs only while CloudFormation deploys: it copies
   * the staged files from CDK's asset bucket into this bucket and invalidates the distribution. Its role is
   * CDK's, granted with CDK's own grant methods; what cdk-nag finds in it is acknowledged here, one by one.
   */
  private acknowledgeDeploymentHandler(deployment: BucketDeployment): void {
    const handler = deployment.handlerRole.node.scope;
    if (!handler) return;
    const stack = Stack.of(this);
    const bucketId = stack.getLogicalId(this.bucket.node.defaultChild as CfnElement);
    const qualifier =
      (stack.synthesizer instanceof DefaultStackSynthesizer
        ? stack.synthesizer.bootstrapQualifier
        : undefined) ?? DefaultStackSynthesizer.DEFAULT_QUALIFIER;
    // CDK's asset bucket as cdk-nag writes it: the synthesizer's name, pseudo parameters as <AWS::…>.
    const { region, account } = asNagWrites(stack);
    const placeholders: Record<string, string> = {
      Qualifier: qualifier,
      "AWS::AccountId": account,
      "AWS::Region": region,
    };
    const assetBucket = DefaultStackSynthesizer.DEFAULT_FILE_ASSETS_BUCKET_NAME.replaceAll(
      /\$\{([\w:]+)\}/g,
      (placeholder, name: string) => placeholders[name] ?? placeholder,
    );
    const grants =
      "CDK's own grants to its deployment function (grantRead on CDK's asset bucket, grantReadWrite on the " +
      "console's bucket): it reads the staged zip files, then syncs them into this bucket under console/, " +
      "pruning what is gone. It runs during deploys only.";
    const findings: Record<string, string> = {
      "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]":
        "CDK's deployment function writes its own logs through AWS's basic execution role (CloudWatch Logs only).",
      "AwsSolutions-IAM5[Action::s3:GetObject*]": grants,
      "AwsSolutions-IAM5[Action::s3:GetBucket*]": grants,
      "AwsSolutions-IAM5[Action::s3:List*]": grants,
      "AwsSolutions-IAM5[Action::s3:DeleteObject*]": grants,
      "AwsSolutions-IAM5[Action::s3:Abort*]": grants,
      [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${assetBucket}/*]`]: grants,
      [`AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`]: grants,
      "AwsSolutions-IAM5[Resource::*]":
        "CDK grants cloudfront:CreateInvalidation and GetInvalidation on '*' to its deployment function, which " +
        "invalidates this distribution's /console/* after each deploy.",
      "AwsSolutions-L1":
        "CDK's deployment function: its runtime (Python, for the AWS CLI layer) is chosen by aws-cdk-lib and " +
        "moves with it; it runs only while CloudFormation deploys.",
    };
    for (const [id, reason] of Object.entries(findings)) Validations.of(handler).acknowledge({ id, reason });
  }

  private createDistribution(signInBase: string): Distribution {
    // The console's own CSP (console/csp.ts, as npm start serves it), connecting to the API, the sign-in
    // domain and the identity pool. The API by the region's API Gateway domain, not its own host: the API's
    // CORS names this distribution, so naming the API here would make each depend on the other (a cycle
    // CloudFormation refuses). A script that could misuse that cannot load: script-src is 'self' only.
    const csp = consoleCsp(
      cognitoConnectSources({
        apiOrigin: `https://*.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`,
        domainOrigin: signInBase,
        region: Aws.REGION,
      }),
    );
    const headers = new ResponseHeadersPolicy(this, "Headers", {
      comment: "im-edit console: CSP, HSTS, nosniff, no framing, no referrer",
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: csp, override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(730),
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
      customHeadersBehavior: {
        customHeaders: [
          { header: "Cross-Origin-Opener-Policy", value: "same-origin", override: true },
          {
            header: "Permissions-Policy",
            value: "camera=(), microphone=(), geolocation=(), payment=()",
            override: true,
          },
        ],
      },
    });
    const index = new EdgeFunction(this, "Index", {
      comment: "im-edit console: /console/ is its index.html; / and /console go to /console/",
      code: FunctionCode.fromInline(CONSOLE_INDEX_FUNCTION),
      runtime: FunctionRuntime.JS_2_0,
    });
    const distribution = new Distribution(this, "Distribution", {
      comment: "im-edit operator console",
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        compress: true,
        functionAssociations: [{ function: index, eventType: FunctionEventType.VIEWER_REQUEST }],
      },
      httpVersion: HttpVersion.HTTP2_AND_3,
      // Every edge location (the default): operators of Tencent and NetEase apps are often in Asia, and the
      // console's few requests cost the same fractions of a cent anywhere.
      priceClass: PriceClass.PRICE_CLASS_ALL,
    });
    const acknowledge = (id: string, reason: string) =>
      Validations.of(distribution).acknowledge({ id, reason });
    acknowledge(
      "AwsSolutions-CFR1",
      "Operators work from anywhere; every call the console makes is signed with their own credentials.",
    );
    acknowledge(
      "AwsSolutions-CFR2",
      "The distribution serves static files only (no data, no forms); a web ACL costs at rest ($5 a month " +
        "and more) for nothing to protect here. The API behind it requires IAM signatures.",
    );
    acknowledge(
      "AwsSolutions-CFR3",
      "Its requests are downloads of the console's public static files; what operators do goes through the " +
        "API, whose access log names each caller, and sign-ins are in Cognito's CloudTrail events.",
    );
    acknowledge(
      "AwsSolutions-CFR4",
      "The default *.cloudfront.net certificate, whose minimum TLS version cannot be set; browsers negotiate " +
        "TLS 1.2 or 1.3. A custom domain with its own certificate would allow TLSv1.2_2021.",
    );
    return distribution;
  }
}

/** The stack's region and account as cdk-nag writes them in a finding: the value, or `<AWS::Region>` when unknown. */
function asNagWrites(stack: Stack): { readonly region: string; readonly account: string } {
  return {
    region: known(stack.region) ? stack.region : "<AWS::Region>",
    account: known(stack.account) ? stack.account : "<AWS::AccountId>",
  };
}

/** Whether `<stack name>-<12-digit account>` makes a valid domain prefix (the stack name is literal). */
function domainPrefixFits(stackName: string): boolean {
  if (Token.isUnresolved(stackName)) return false;
  const prefix = OperatorConsole.defaultDomainPrefix(stackName, "123456789012");
  return DOMAIN_PREFIX.test(prefix) && !RESERVED_IN_PREFIX.test(prefix);
}
