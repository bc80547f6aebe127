import { type IndexName, TABLE } from "./table.ts";

/**
 * Item sizes by DynamoDB's published rules (Developer Guide, "Item sizes and formats"): the sum of each
 * attribute's name (UTF-8 bytes) and value. Strings and binaries: their bytes. Numbers: 1 byte per two
 * significant digits plus 1 (plus 1 when negative). Booleans and null: 1 byte. Lists and maps: 3 bytes
 * plus 1 byte per element plus the elements (a map element's name counts too). Sets: their elements.
 * Write units are 1 per started KB of the item; each index entry written costs its projected size the same way.
 */
export function itemSize(item: Readonly<Record<string, unknown>>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value !== undefined) size += bytes(name) + valueSize(value);
  }
  return size;
}

/** Storage per index entry beyond its attributes, and per base-table item (DynamoDB's 100 bytes). */
export const INDEX_ENTRY_OVERHEAD = 100;

/**
 * The size of the entry an item puts into `index` (table keys, index keys, projected attributes), or
 * undefined when the item carries no key of that index (sparse: no entry, no write).
 */
export function indexEntrySize(
  item: Readonly<Record<string, unknown>>,
  index: IndexName,
): number | undefined {
  const layout = TABLE.indexes[index];
  if (item[layout.partitionKey] === undefined || item[layout.sortKey] === undefined) return undefined;
  const names = new Set<string>([
    TABLE.partitionKey,
    TABLE.sortKey,
    layout.partitionKey,
    layout.sortKey,
    ...layout.projection.attributes,
  ]);
  return itemSize(Object.fromEntries([...names].map((name) => [name, item[name]])));
}

/** Write units of putting this item: the table's plus one per index entry (1 per started KB each). */
export function writeUnits(item: Readonly<Record<string, unknown>>): number {
  const units = (size: number) => Math.max(1, Math.ceil(size / 1024));
  let total = units(itemSize(item));
  for (const index of Object.keys(TABLE.indexes) as IndexName[]) {
    const size = indexEntrySize(item, index);
    if (size !== undefined) total += units(size);
  }
  return total;
}

/** Bytes stored for the item, index copies included (what storage is billed on). */
export function storedBytes(item: Readonly<Record<string, unknown>>): number {
  let total = itemSize(item) + INDEX_ENTRY_OVERHEAD;
  for (const index of Object.keys(TABLE.indexes) as IndexName[]) {
    const size = indexEntrySize(item, index);
    if (size !== undefined) total += size + INDEX_ENTRY_OVERHEAD;
  }
  return total;
}

function bytes(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

function valueSize(value: unknown): number {
  if (value === null || typeof value === "boolean") return 1;
  if (typeof value === "string") return bytes(value);
  if (typeof value === "number" || typeof value === "bigint") return numberSize(String(value));
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) {
    let size = 0;
    for (const element of value) size += valueSize(element);
    return size;
  }
  if (Array.isArray(value)) {
    let size = 3;
    for (const element of value) if (element !== undefined) size += 1 + valueSize(element);
    return size;
  }
  if (typeof value === "object") {
    let size = 3;
    for (const [name, element] of Object.entries(value)) {
      if (element !== undefined) size += 1 + bytes(name) + valueSize(element);
    }
    return size;
  }
  throw new TypeError(`no DynamoDB type for a ${typeof value}`);
}

/** 1 byte per two significant digits, plus 1; negative numbers 1 more. "1.5e+21" has 2 significant digits. */
function numberSize(text: string): number {
  const negative = text.startsWith("-");
  const mantissa = (negative ? text.slice(1) : text).split(/e/i)[0] ?? "";
  const digits = mantissa.replace(".", "").replace(/^0+/, "").replace(/0+$/, "");
  return Math.ceil(Math.max(1, digits.length) / 2) + 1 + (negative ? 1 : 0);
}
