import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import { Construct } from "constructs";
import { Problems } from "./props.ts";

export interface AlarmTopicProps {
  /**
   * An address subscribed to the topic (AWS mails a confirmation link first).
   * @default - no subscription: subscribe from the console or CLI
   */
  readonly email?: string;
}

export interface AlarmOptions {
  /** What the alarm means and what to do about it; shown in the notification. */
  readonly description: string;
  readonly metric: IMetric;
  /** The alarm fires at `>= threshold` unless `above` is set. */
  readonly threshold: number;
  /** Strictly greater than the threshold instead of at least. @default false */
  readonly above?: boolean;
  /** @default 1 */
  readonly evaluationPeriods?: number;
  /** @default evaluationPeriods */
  readonly datapointsToAlarm?: number;
}

/**
 * The SNS topic every alarm notifies, encrypted with its own KMS key. A customer-managed key is needed
 * because CloudWatch must be allowed to use it: the AWS-managed `alias/aws/sns` key cannot grant that.
 */
export class AlarmTopic extends Construct {
  readonly topic: Topic;
  readonly key: Key;
  readonly alarms: Alarm[] = [];

  /** Every problem with these props: the constructor throws them, the stack checks them ahead with its own. */
  static problems(props: { readonly email?: string | undefined }): readonly string[] {
    return new Problems("AlarmTopic").check(
      props.email === undefined || /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(props.email),
      `alarm email: ${JSON.stringify(props.email)} is not an email address`,
    ).list;
  }

  constructor(scope: Construct, id: string, props: AlarmTopicProps = {}) {
    super(scope, id);
    new Problems(`AlarmTopic ${this.node.path}`).add(AlarmTopic.problems(props)).throwIfAny();

    this.key = new Key(this, "Key", {
      description: "im-edit alarm topic encryption",
      enableKeyRotation: true,
      // Nothing is stored under this key for long (SNS messages are transient): safe to delete with the stack.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    const cloudWatch = new ServicePrincipal("cloudwatch.amazonaws.com");
    this.key.grant(cloudWatch, "kms:Decrypt", "kms:GenerateDataKey");
    this.topic = new Topic(this, "Topic", { masterKey: this.key, enforceSSL: true });
    if (props.email !== undefined) this.topic.addSubscription(new EmailSubscription(props.email));
  }

  /** An alarm that notifies the topic; missing data (no traffic) is not an alarm. */
  alarm(id: string, options: AlarmOptions): Alarm {
    const evaluationPeriods = options.evaluationPeriods ?? 1;
    const alarm = new Alarm(this, id, {
      alarmDescription: options.description,
      metric: options.metric,
      threshold: options.threshold,
      comparisonOperator: options.above
        ? ComparisonOperator.GREATER_THAN_THRESHOLD
        : ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods,
      datapointsToAlarm: options.datapointsToAlarm ?? evaluationPeriods,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
    return alarm;
  }
}
