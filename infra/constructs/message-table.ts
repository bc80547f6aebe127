import { RemovalPolicy } from "aws-cdk-lib";
import {
  type Attribute,
  AttributeType,
  Billing,
  Capacity,
  type GlobalSecondaryIndexPropsV2,
  ProjectionType,
  TableEncryptionV2,
  TableV2,
} from "aws-cdk-lib/aws-dynamodb";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";
import { INDEX_LISTINGS, type IndexName, TABLE } from "../../functions/adapters/dynamodb/table.ts";
import { ALL_LISTINGS, LISTING_NAMES, type Listing, type Listings } from "../../functions/core/listings.ts";
import { isIntegerIn, Problems } from "./props.ts";

/** Auto scaling bounds for one kind of capacity (read or write), in capacity units. */
export interface CapacityRange {
  readonly min: number;
  readonly max: number;
}

/** Provisioned capacity with auto scaling, applied alike to the table and to each of its indexes. */
export interface ProvisionedCapacity {
  readonly read: CapacityRange;
  readonly write: CapacityRange;
  /**
   * Consumed capacity as a share of provisioned that auto scaling aims for (20-90).
   * @default 70
   */
  readonly targetUtilizationPercent?: number;
}

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
  /**
   * Provisioned capacity with auto scaling, for steady traffic. Every index gets the same bounds.
   * @default - on-demand (pay per request)
   */
  readonly provisioned?: ProvisionedCapacity;
  /**
   * The listings kept (`-c listings`, LISTINGS in the functions, see functions/core/listings.ts): an
   * index whose listing is off is not created (each costs a write unit per recorded message). DynamoDB
   * adds or drops one index per update: turn one listing on or off per deploy.
   * @default every listing (`conversation`, `app`)
   */
  readonly listings?: readonly Listing[];
}

/**
 * An index as `TABLE.indexes` describes it. `sortKey` and `projection` are optional here so that the
 * layout can drop a sort key or narrow a projection without touching the construct.
 */
interface IndexLayout {
  readonly partitionKey: string;
  readonly sortKey?: string;
  readonly projection?: {
    readonly type: "KEYS_ONLY" | "INCLUDE" | "ALL";
    readonly attributes?: readonly string[];
  };
}

/** The table's indexes, in `TABLE` order. */
export const INDEXES: ReadonlyArray<readonly [string, IndexLayout]> = Object.entries(
  TABLE.indexes as Readonly<Record<string, IndexLayout>>,
);

const PROJECTIONS = {
  KEYS_ONLY: ProjectionType.KEYS_ONLY,
  INCLUDE: ProjectionType.INCLUDE,
  ALL: ProjectionType.ALL,
} as const;

/** DynamoDB's default per-table quota, for each of read and write capacity units. */
const MAX_CAPACITY_UNITS = 40_000;

/** The message table with house defaults, its layout taken from `functions/adapters/dynamodb/table.ts`. */
export class MessageTable extends Construct {
  readonly table: TableV2;
  /** The customer-managed key, when one was given: functions using the table need it too. */
  readonly encryptionKey?: IKey;

  /** The listings kept: the functions using the table get them as LISTINGS (`bindTable`). */
  readonly listings: Listings;
  /** The indexes it has, of the listings kept (a grant names each). */
  readonly indexNames: readonly string[];

  /** Every problem with these props: the constructor throws them, the stack checks them ahead with its own. */
  static problems(props: {
    readonly provisioned?: ProvisionedCapacity | undefined;
    readonly listings?: readonly Listing[] | undefined;
  }): readonly string[] {
    const problems = new Problems("MessageTable");
    const { provisioned, listings } = props;
    if (listings !== undefined) {
      problems.check(
        listings.every((name) => LISTING_NAMES.includes(name)) && new Set(listings).size === listings.length,
        `listings: ${JSON.stringify(listings)} is not a list of distinct listings among ${LISTING_NAMES.join(", ")} (none: [])`,
      );
    }
    if (!provisioned) return problems.list;
    for (const kind of ["read", "write"] as const) {
      const { min, max } = provisioned[kind];
      const lowest = Number.isInteger(min) && min >= 1 ? min : 1;
      problems
        .check(
          isIntegerIn(min, 1, MAX_CAPACITY_UNITS),
          `${kind} capacity min: ${min} is not an integer in 1-${MAX_CAPACITY_UNITS}`,
        )
        .check(
          isIntegerIn(max, 1, MAX_CAPACITY_UNITS) && !(max < min),
          `${kind} capacity max: ${max} is not an integer in ${lowest}-${MAX_CAPACITY_UNITS} (at least the min)`,
        );
    }
    const target = provisioned.targetUtilizationPercent ?? 70;
    return problems.check(
      isIntegerIn(target, 20, 90),
      `targetUtilizationPercent: ${target} is not an integer in 20-90`,
    ).list;
  }

  constructor(scope: Construct, id: string, props: MessageTableProps = {}) {
    super(scope, id);
    new Problems(`MessageTable ${this.node.path}`).add(MessageTable.problems(props)).throwIfAny();
    if (props.encryptionKey) this.encryptionKey = props.encryptionKey;
    this.listings = props.listings === undefined ? ALL_LISTINGS : new Set(props.listings);
    // An index serving a listing that is off is left out; one serving none (a layout's own) stays.
    const listing = (name: string): Listing | undefined => INDEX_LISTINGS[name as IndexName];
    const indexes = INDEXES.filter(([name]) => {
      const served = listing(name);
      return served === undefined || this.listings.has(served);
    });
    this.indexNames = indexes.map(([name]) => name);
    const string = (name: string): Attribute => ({ name, type: AttributeType.STRING });
    const capacity = props.provisioned && autoscaled(props.provisioned);
    this.table = new TableV2(this, "Table", {
      partitionKey: string(TABLE.partitionKey),
      sortKey: string(TABLE.sortKey),
      billing: capacity ? Billing.provisioned(capacity) : Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE.ttlAttribute,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      deletionProtection: (props.removalPolicy ?? RemovalPolicy.RETAIN) === RemovalPolicy.RETAIN,
      encryption: props.encryptionKey
        ? TableEncryptionV2.customerManagedKey(props.encryptionKey)
        : TableEncryptionV2.awsManagedKey(),
      globalSecondaryIndexes: indexes.map(
        ([indexName, index]): GlobalSecondaryIndexPropsV2 => ({
          indexName,
          partitionKey: string(index.partitionKey),
          ...(index.sortKey !== undefined ? { sortKey: string(index.sortKey) } : {}),
          projectionType: PROJECTIONS[index.projection?.type ?? "ALL"],
          ...(index.projection?.type === "INCLUDE"
            ? { nonKeyAttributes: [...(index.projection.attributes ?? [])] }
            : {}),
          // Stated rather than inherited, so each index visibly scales on its own.
          ...(capacity ?? {}),
        }),
      ),
    });
  }
}

/**
 * Auto-scaled read and write capacity. The seed (the starting capacity, the min) is what lets an
 * existing on-demand table switch to provisioned in place: DynamoDB needs a starting value then.
 */
function autoscaled(provisioned: ProvisionedCapacity): { readCapacity: Capacity; writeCapacity: Capacity } {
  const scaled = ({ min, max }: CapacityRange) =>
    Capacity.autoscaled({
      minCapacity: min,
      maxCapacity: max,
      seedCapacity: min,
      targetUtilizationPercent: provisioned.targetUtilizationPercent ?? 70,
    });
  return { readCapacity: scaled(provisioned.read), writeCapacity: scaled(provisioned.write) };
}
