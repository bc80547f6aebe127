import { App } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { PropsError } from "../../infra/constructs/props.ts";
import { type ContextKey, propsFromContext } from "../../infra/context.ts";
import { ImEditStack, type ImEditStackProps } from "../../infra/stacks/im-edit-stack.ts";
import {
  buildStack,
  CALLBACK_TOKEN_ARN,
  environmentOf,
  grantsOf,
  logicalId,
  PROPS,
  RELAY_PROPS,
  resolved,
  SECRET_KEY_ARN,
} from "./helpers.ts";

const REQUIRED = {
  sdkAppId: "1400000000",
  callbackTokenSecretArn: CALLBACK_TOKEN_ARN,
  secretKeySecretArn: SECRET_KEY_ARN,
};

/** The stack as `-c listings=<value>` synthesizes it (the context maps it, the stack builds it). */
function withContext(value: string) {
  const parsed = propsFromContext(
    (key: ContextKey) => ({ ...REQUIRED, console: "off", listings: value })[key],
  );
  if (!parsed.ok) throw new Error(parsed.message);
  return { props: parsed.props, ...buildStack(parsed.props) };
}

type Index = { IndexName: string; KeySchema: { AttributeName: string }[] };
const tableOf = (built: ReturnType<typeof buildStack>) => {
  const [table] = Object.values(built.template.findResources("AWS::DynamoDB::GlobalTable"));
  return table?.Properties as {
    GlobalSecondaryIndexes?: Index[];
    AttributeDefinitions: { AttributeName: string }[];
  };
};

/**
 * `-c listings`: the table gets only the indexes of the listings kept, and every function that reads or
 * writes heads gets LISTINGS (so heads carry only those keys and what needs another is refused).
 */
describe.each([
  { value: "conversation,app", listings: ["conversation", "app"], indexes: ["byConversation", "byApp"] },
  { value: "conversation", listings: ["conversation"], indexes: ["byConversation"] },
  { value: "app", listings: ["app"], indexes: ["byApp"] },
  { value: "none", listings: [], indexes: [] },
])("-c listings=$value", ({ value, listings, indexes }) => {
  const built = withContext(value);
  const { stack, template } = built;

  it(`maps onto the listings prop ${JSON.stringify(listings)}`, () => {
    expect(built.props.listings).toEqual(listings);
  });

  it(`the table has the indexes ${JSON.stringify(indexes)} and key attributes for them only`, () => {
    const table = tableOf(built);
    expect((table.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName)).toEqual(indexes);
    const keys = [
      "pk",
      "sk",
      ...(indexes.includes("byConversation") ? ["cv"] : []),
      ...(indexes.length > 0 ? ["ts"] : []),
      ...(indexes.includes("byApp") ? ["ap"] : []),
    ];
    expect(table.AttributeDefinitions.map((attribute) => attribute.AttributeName).sort()).toEqual(
      keys.sort(),
    );
  });

  it("recorder, editor and worker get LISTINGS, and may Query those indexes only", () => {
    const canonical = listings.length === 0 ? "none" : listings.join(",");
    const tableArn = stack.table.table.tableArn;
    for (const fn of [stack.recorder, stack.editor, stack.worker]) {
      expect(environmentOf(template, stack, fn).LISTINGS).toBe(canonical);
      const queried = grantsOf(template, logicalId(fn.role)).filter((grant) =>
        grant.startsWith("dynamodb:Query "),
      );
      expect(queried).toEqual(
        [tableArn, ...indexes.map((name) => `${tableArn}/index/${name}`)]
          .map((arn) => `dynamodb:Query ${JSON.stringify(resolved(stack, arn))}`)
          .sort(),
      );
    }
  });

  it("cdk-nag: no finding", () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
  });
});

describe("listings refused", () => {
  it("a bad -c listings fails synth naming the key and the values it takes", () => {
    for (const value of ["sender", "none,app", "conversation,"]) {
      const parsed = propsFromContext((key: ContextKey) => ({ ...REQUIRED, listings: value })[key]);
      expect(!parsed.ok && parsed.message).toContain(
        `-c listings: ${JSON.stringify(value)} is not one of conversation,app (the default), conversation, app, none`,
      );
    }
  });

  it("stack props: an unknown or repeated listing is named", () => {
    for (const listings of [["sender"], ["app", "app"]]) {
      const build = () =>
        new ImEditStack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Test", {
          ...PROPS,
          listings,
        } as unknown as ImEditStackProps);
      expect(build).toThrow(PropsError);
      expect(build).toThrow(
        `listings: ${JSON.stringify(listings)} is not a list of distinct listings among conversation, app`,
      );
    }
  });

  it("the forwarder, which never touches the table, gets no LISTINGS", () => {
    const { stack, template } = buildStack({ ...RELAY_PROPS, listings: [] });
    const forwarder = stack.relay?.forwarder;
    if (!forwarder) throw new Error("no forwarder");
    expect(environmentOf(template, stack, forwarder)).not.toHaveProperty("LISTINGS");
  });
});
