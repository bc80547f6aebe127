/**
 * A small LCS diff for comparing two versions: words for text, lines for custom data. Common prefix and
 * suffix are cut first (an edit usually touches a little of a message), and the LCS table is bounded:
 * past MAX_CELLS the middle is shown as one removal and one addition instead of a slow exact diff.
 */
export type DiffKind = "same" | "added" | "removed";

export interface DiffPart {
  readonly kind: DiffKind;
  readonly text: string;
}

/** The LCS table's cell budget (rows × columns of the differing middle). */
export const MAX_CELLS = 1_000_000;

/** Words and the whitespace between them, so joining the parts gives the texts back exactly. */
export const words = (text: string): string[] => text.split(/(\s+)/).filter((token) => token !== "");

/** Lines with their line breaks kept (the last may have none). */
export const lines = (text: string): string[] => text.match(/[^\n]*\n|[^\n]+$/g) ?? [];

export const diffWords = (before: string, after: string): DiffPart[] =>
  diffTokens(words(before), words(after));

export const diffLines = (before: string, after: string): DiffPart[] =>
  diffTokens(lines(before), lines(after));

/** The edit script from `before` to `after`: removals before additions at each change, adjacent parts merged. */
export function diffTokens(before: readonly string[], after: readonly string[]): DiffPart[] {
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start++;
  let endBefore = before.length;
  let endAfter = after.length;
  while (endBefore > start && endAfter > start && before[endBefore - 1] === after[endAfter - 1]) {
    endBefore--;
    endAfter--;
  }
  const parts: DiffPart[] = [];
  const push = (kind: DiffKind, tokens: readonly string[]) => {
    for (const text of tokens) append(parts, kind, text);
  };
  push("same", before.slice(0, start));
  const middleBefore = before.slice(start, endBefore);
  const middleAfter = after.slice(start, endAfter);
  if (middleBefore.length * middleAfter.length > MAX_CELLS) {
    push("removed", middleBefore);
    push("added", middleAfter);
  } else {
    for (const [kind, text] of lcsScript(middleBefore, middleAfter)) append(parts, kind, text);
  }
  push("same", before.slice(endBefore));
  return parts;
}

function lcsScript(a: readonly string[], b: readonly string[]): Array<[DiffKind, string]> {
  const columns = b.length + 1;
  // lengths[i * columns + j]: the LCS length of a[i..] and b[j..].
  const lengths = new Uint32Array((a.length + 1) * columns);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i * columns + j] =
        a[i] === b[j]
          ? (lengths[(i + 1) * columns + j + 1] ?? 0) + 1
          : Math.max(lengths[(i + 1) * columns + j] ?? 0, lengths[i * columns + j + 1] ?? 0);
    }
  }
  const script: Array<[DiffKind, string]> = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      script.push(["same", a[i] as string]);
      i++;
      j++;
    } else if ((lengths[(i + 1) * columns + j] ?? 0) >= (lengths[i * columns + j + 1] ?? 0)) {
      script.push(["removed", a[i] as string]);
      i++;
    } else {
      script.push(["added", b[j] as string]);
      j++;
    }
  }
  for (; i < a.length; i++) script.push(["removed", a[i] as string]);
  for (; j < b.length; j++) script.push(["added", b[j] as string]);
  return script;
}

function append(parts: DiffPart[], kind: DiffKind, text: string): void {
  const last = parts.at(-1);
  if (last?.kind === kind) parts[parts.length - 1] = { kind, text: last.text + text };
  else parts.push({ kind, text });
}

/** Whether the two sides differ at all. */
export const changed = (parts: readonly DiffPart[]): boolean => parts.some((part) => part.kind !== "same");

/** One side of a diff, rebuilt from its parts (what tests check against the inputs). */
export const side = (parts: readonly DiffPart[], which: "before" | "after"): string =>
  parts
    .filter((part) => part.kind === "same" || part.kind === (which === "before" ? "removed" : "added"))
    .map((part) => part.text)
    .join("");
