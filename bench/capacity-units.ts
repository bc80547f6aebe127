import type { ConsumedCapacity } from "@aws-sdk/client-dynamodb";
import { indexEntrySize, itemSize, storedBytes, writeUnits } from "../functions/adapters/dynamodb/store.ts";
import { type IndexName, TABLE } from "../functions/adapters/dynamodb/table.ts";

/**
 * The arithmetic of the capacity benchmark (capacity.ts): the units DynamoDB reported, summed by table
 * and index, and the stored sizes of the head items by DynamoDB's rules.
 */

export interface CapacityReport {
  readonly phase: string;
  readonly operation: string;
  readonly consumed: ConsumedCapacity;
}

interface Units {
  read: number;
  write: number;
  table: number;
  indexes: Map<string, number>;
}

/**
 * Sums capacity reports. DynamoDB Local reports CapacityUnits (and Read/WriteCapacityUnits when it
 * tells them apart); an operation that reports only CapacityUnits is classed by what it is.
 */
export function sumCapacity(reports: readonly CapacityReport[]): Units {
  const units: Units = { read: 0, write: 0, table: 0, indexes: new Map() };
  for (const { operation, consumed } of reports) {
    const total = consumed.CapacityUnits ?? 0;
    const read = consumed.ReadCapacityUnits ?? (isReadOperation(operation) ? total : 0);
    const write = consumed.WriteCapacityUnits ?? (isReadOperation(operation) ? 0 : total);
    units.read += read;
    units.write += write;
    if (!isReadOperation(operation)) {
      units.table += consumed.Table?.CapacityUnits ?? 0;
      for (const [name, index] of Object.entries(consumed.GlobalSecondaryIndexes ?? {})) {
        units.indexes.set(name, (units.indexes.get(name) ?? 0) + (index.CapacityUnits ?? 0));
      }
    }
  }
  return units;
}

/** The adapter's operation labels that read (calls.ts: get, query, batchGet). */
function isReadOperation(operation: string): boolean {
  return /^(get|list|find|recent|read|load|versions)/i.test(operation);
}

export function describeUnits(units: Units, ops: number): string {
  const parts = [`table ${(units.table / ops).toFixed(2)}`];
  for (const [name, value] of units.indexes) parts.push(`${name} ${(value / ops).toFixed(2)}`);
  return parts.join(", ");
}

export function sizes(heads: readonly Record<string, unknown>[]) {
  const max = (values: number[]) => (values.length === 0 ? Number.NaN : Math.max(...values));
  const names = Object.keys(TABLE.indexes) as IndexName[];
  const perIndex = names.map((name) => ({
    name,
    size: max(heads.map((head) => indexEntrySize(head, name) ?? 0)),
  }));
  return {
    stored: { max: max(heads.map(storedBytes)) },
    item: { max: max(heads.map(itemSize)) },
    writeUnits: { max: max(heads.map(writeUnits)) },
    indexes: perIndex.filter((index) => index.size > 0).length,
    indexDescription: perIndex.map((index) => `${index.name} ${index.size}`).join(" + "),
  };
}
