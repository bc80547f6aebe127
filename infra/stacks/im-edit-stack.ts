import { Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { MessageTable } from "../constructs/message-table.ts";

/** The whole service on AWS. (The functions, API and queues join in the CDK issue.) */
export class ImEditStack extends Stack {
  readonly table: MessageTable;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, props);
    this.table = new MessageTable(this, "Messages");
  }
}
