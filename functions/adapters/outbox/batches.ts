/**
 * Splits items into batches of at most `maxCount` items and `maxBytes` bytes (by `size`), in order. An
 * item larger than `maxBytes` on its own goes alone: the caller decides what to do with it.
 */
export function batches<T>(
  items: readonly T[],
  limits: { readonly maxCount: number; readonly maxBytes: number },
  size: (item: T) => number,
): T[][] {
  const result: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const itemBytes = size(item);
    if (current.length > 0 && (current.length >= limits.maxCount || bytes + itemBytes > limits.maxBytes)) {
      result.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += itemBytes;
  }
  if (current.length > 0) result.push(current);
  return result;
}
