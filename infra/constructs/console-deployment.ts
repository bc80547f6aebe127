import { type CfnElement, DefaultStackSynthesizer, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import type { Distribution } from "aws-cdk-lib/aws-cloudfront";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import { BucketDeployment, CacheControl, Source } from "aws-cdk-lib/aws-s3-deployment";
import type { Construct } from "constructs";
import { CONSOLE_PATH } from "./console-hosting.ts";
import { known } from "./props.ts";

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

export interface ConsoleDeploymentProps {
  readonly bucket: IBucket;
  /** Invalidated after each deploy. */
  readonly distribution: Distribution;
  /** The built console (console/build.ts `buildConsole(outDir)`). */
  readonly assetsPath: string;
  readonly config: ConsoleConfig;
  /** For the deployment's own function's logs. */
  readonly logRetention: RetentionDays;
}

/** Writes the console and its config.json to the bucket under `/console/` (`Deployment` in `scope`). */
export function deployConsole(scope: Construct, props: ConsoleDeploymentProps): BucketDeployment {
  // One deployment for both: a second one to the same prefix would prune the other's files.
  const deployment = new BucketDeployment(scope, "Deployment", {
    destinationBucket: props.bucket,
    destinationKeyPrefix: CONSOLE_PATH.slice(1),
    sources: [Source.asset(props.assetsPath), Source.jsonData("config.json", props.config)],
    // Browsers revalidate (ETag), so a deploy shows at the next load; CloudFront's copies are invalidated.
    cacheControl: [CacheControl.noCache()],
    distribution: props.distribution,
    distributionPaths: [`${CONSOLE_PATH}*`],
    // The files go with the stack (the bucket is emptied, then deleted).
    retainOnDelete: false,
    logGroup: new LogGroup(scope, "DeploymentLogs", {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    }),
  });
  acknowledgeDeploymentHandler(props.bucket, deployment);
  return deployment;
}

/**
 * CDK's deployment function (one per stack, at its root) runs only while CloudFormation deploys: it copies
 * the staged files from CDK's asset bucket into this bucket and invalidates the distribution. Its role is
 * CDK's, granted with CDK's own grant methods; what cdk-nag finds in it is acknowledged here, one by one.
 */
function acknowledgeDeploymentHandler(bucket: IBucket, deployment: BucketDeployment): void {
  const handler = deployment.handlerRole.node.scope;
  if (!handler) return;
  const stack = Stack.of(deployment);
  const bucketId = stack.getLogicalId(bucket.node.defaultChild as CfnElement);
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

/** The stack's region and account as cdk-nag writes them in a finding: the value, or `<AWS::Region>` when unknown. */
export function asNagWrites(stack: Stack): { readonly region: string; readonly account: string } {
  return {
    region: known(stack.region) ? stack.region : "<AWS::Region>",
    account: known(stack.account) ? stack.account : "<AWS::AccountId>",
  };
}
