import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it, vi } from "vitest";
import { MessageTable } from "../../infra/constructs/message-table.ts";

// A layout the table module may grow into: an index without a sort key, and narrowed projections.
vi.mock("../../functions/adapters/dynamodb/table.ts", async (original) => {
  const actual = await original<typeof import("../../functions/adapters/dynamodb/table.ts")>();
  return {
    ...actual,
    TABLE: {
      ...actual.TABLE,
      indexes: {
        byKey: { partitionKey: "keyPk", projection: { type: "KEYS_ONLY" } },
        byConversation: {
          partitionKey: "convPk",
          sortKey: "convSk",
          projection: { type: "INCLUDE", attributes: ["state", "version"] },
        },
        byApp: { partitionKey: "appPk", sortKey: "appSk" },
      },
    },
  };
});

function tableOf(provisioned?: boolean) {
  const stack = new Stack(new App(), "S");
  new MessageTable(stack, "Messages", {
    ...(provisioned ? { provisioned: { read: { min: 1, max: 10 }, write: { min: 1, max: 10 } } } : {}),
  });
  const [table] = Object.values(Template.fromStack(stack).findResources("AWS::DynamoDB::GlobalTable"));
  return table?.Properties as {
    GlobalSecondaryIndexes: { IndexName: string; KeySchema: unknown; Projection: unknown }[];
    Replicas: { GlobalSecondaryIndexes?: { IndexName: string }[] }[];
  };
}

describe("MessageTable follows whatever indexes TABLE declares", () => {
  it("keys and projections as declared; ALL when an index declares none", () => {
    expect(
      tableOf().GlobalSecondaryIndexes.map(({ IndexName, KeySchema, Projection }) => ({
        IndexName,
        KeySchema,
        Projection,
      })),
    ).toEqual([
      {
        IndexName: "byKey",
        KeySchema: [{ AttributeName: "keyPk", KeyType: "HASH" }],
        Projection: { ProjectionType: "KEYS_ONLY" },
      },
      {
        IndexName: "byConversation",
        KeySchema: [
          { AttributeName: "convPk", KeyType: "HASH" },
          { AttributeName: "convSk", KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "INCLUDE", NonKeyAttributes: ["state", "version"] },
      },
      {
        IndexName: "byApp",
        KeySchema: [
          { AttributeName: "appPk", KeyType: "HASH" },
          { AttributeName: "appSk", KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "ALL" },
      },
    ]);
  });

  it("provisioned: every declared index scales, and only those", () => {
    const table = tableOf(true);
    const names = ["byKey", "byConversation", "byApp"];
    expect(table.GlobalSecondaryIndexes.map((index) => index.IndexName)).toEqual(names);
    expect(table.GlobalSecondaryIndexes.every((index) => "WriteProvisionedThroughputSettings" in index)).toBe(
      true,
    );
    expect(
      (table.Replicas[0]?.GlobalSecondaryIndexes ?? []).map((index) => [
        index.IndexName,
        "ReadProvisionedThroughputSettings" in index,
      ]),
    ).toEqual(names.map((name) => [name, true]));
  });
});
