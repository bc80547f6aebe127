import { RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from "aws-cdk-lib/aws-dynamodb";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";
import { TABLE } from "../../functions/adapters/dynamodb/table.ts";

export interface MessageTableProps {
  /**
   * Customer-managed KMS key for encryption at rest.
   * @default the AWS-managed key `aws/dynamodb` (no key charge; usable by any principal allowed the table)
   */
  readonly encryptionKey?: IKey;
  /**
   * What happens to the table when the stack is deleted.
   * @default RemovalPolicy.RETAIN (message history is not disposable)
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The message table with house defaults, its layout taken from `functions/adapters/dynamodb/table.ts`. */
export class MessageTable extends Construct {
  readonly table: TableV2;
  /** The customer-managed key, when one was given: functions using the table need it too. */
  readonly encryptionKey?: IKey;

  constructor(scope: Construct, id: string, props: MessageTableProps = {}) {
    super(scope, id);
    if (props.encryptionKey) this.encryptionKey = props.encryptionKey;
    const string = (name: string) => ({ name, type: AttributeType.STRING });
    this.table = new TableV2(this, "Table", {
      partitionKey: string(TABLE.partitionKey),
      sortKey: string(TABLE.sortKey),
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE.ttlAttribute,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      deletionProtection: (props.removalPolicy ?? RemovalPolicy.RETAIN) === RemovalPolicy.RETAIN,
      encryption: props.encryptionKey
        ? TableEncryptionV2.customerManagedKey(props.encryptionKey)
        : TableEncryptionV2.awsManagedKey(),
      globalSecondaryIndexes: Object.entries(TABLE.indexes).map(([indexName, index]) => ({
        indexName,
        partitionKey: string(index.partitionKey),
        sortKey: string(index.sortKey),
      })),
    });
  }
}
