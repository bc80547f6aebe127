import { Aws, Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
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
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  ObjectOwnership,
} from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";
import { cognitoConnectSources, consoleCsp } from "../../console/csp.ts";

/** The console's path on its distribution, as the app's base path (`/console/` locally too). */
export const CONSOLE_PATH = "/console/";

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

/** The private bucket the console's static files are deployed to (`Assets` in `scope`). */
export function createAssetsBucket(scope: Construct): IBucket {
  // Only CloudFront reads it (origin access control); nothing in it is secret, all of it is rebuilt from
  // the repository at each deploy, so no versions are kept and it goes with the stack.
  // Bucket implements IBucket, but its isWebsite getter (boolean | undefined) does not satisfy the
  // interface's optional property under exactOptionalPropertyTypes.
  const bucket = new Bucket(scope, "Assets", {
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    versioned: false,
    removalPolicy: RemovalPolicy.DESTROY,
  }) as IBucket;
  Validations.of(bucket).acknowledge({
    id: "AwsSolutions-S1",
    reason:
      "The console's static files, read only by CloudFront through origin access control and written only " +
      "by the deployment (CloudTrail has both): an access log would list downloads of public JavaScript. " +
      "What operators do goes through the API, whose access log names each caller.",
  });
  return bucket;
}

/**
 * The distribution serving `bucket` (HTTPS only, a strict CSP and the usual security headers, `/console/`
 * to its index.html), in `scope`; `signInBase` is the managed login's base URL the console fetches tokens from.
 */
export function createConsoleDistribution(
  scope: Construct,
  bucket: IBucket,
  signInBase: string,
): Distribution {
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
  const headers = new ResponseHeadersPolicy(scope, "Headers", {
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
  const index = new EdgeFunction(scope, "Index", {
    comment: "im-edit console: /console/ is its index.html; / and /console go to /console/",
    code: FunctionCode.fromInline(CONSOLE_INDEX_FUNCTION),
    runtime: FunctionRuntime.JS_2_0,
  });
  const distribution = new Distribution(scope, "Distribution", {
    comment: "im-edit operator console",
    defaultBehavior: {
      origin: S3BucketOrigin.withOriginAccessControl(bucket),
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
