import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  changed,
  diffLines,
  diffTokens,
  diffWords,
  lines,
  MAX_CELLS,
  side,
  words,
} from "../../../console/src/diff.ts";

/** The longest common subsequence's length, the textbook way (reference for small inputs). */
function lcsLength(a: readonly string[], b: readonly string[]): number {
  const table = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = table[i] as number[];
      const above = table[i - 1] as number[];
      row[j] =
        a[i - 1] === b[j - 1]
          ? (above[j - 1] as number) + 1
          : Math.max(above[j] as number, row[j - 1] as number);
    }
  }
  return (table[a.length] as number[])[b.length] as number;
}

describe("tokens", () => {
  it("splits words and keeps the whitespace between them, so joining gives the text back", () => {
    // Prepare
    const text = "  hello,\tworld  again\n";
    // Act
    const tokens = words(text);
    // Assess
    expect(tokens).toEqual(["  ", "hello,", "\t", "world", "  ", "again", "\n"]);
    expect(tokens.join("")).toBe(text);
  });

  it("splits lines with their line breaks, the last one without", () => {
    // Act + Assess
    expect(lines('{\n  "a": 1\n}')).toEqual(["{\n", '  "a": 1\n', "}"]);
    expect(lines("")).toEqual([]);
    expect(lines("a\n\nb\n")).toEqual(["a\n", "\n", "b\n"]);
  });
});

describe("diffWords", () => {
  it("marks the changed words only, removals before additions", () => {
    // Act
    const parts = diffWords("hello from tencent", "hello, edited from tencent");
    // Assess
    expect(parts).toEqual([
      { kind: "removed", text: "hello" },
      { kind: "added", text: "hello, edited" },
      { kind: "same", text: " from tencent" },
    ]);
  });

  it("says when nothing changed, and handles empty sides", () => {
    // Act + Assess
    expect(changed(diffWords("same text", "same text"))).toBe(false);
    expect(diffWords("", "")).toEqual([]);
    expect(diffWords("", "new")).toEqual([{ kind: "added", text: "new" }]);
    expect(diffWords("old", "")).toEqual([{ kind: "removed", text: "old" }]);
  });

  it("keeps markup as plain text (rendering escapes it)", () => {
    // Act
    const parts = diffWords("hi", "<img src=x onerror=alert(1)>");
    // Assess
    expect(side(parts, "after")).toBe("<img src=x onerror=alert(1)>");
  });
});

describe("diffLines", () => {
  it("finds the changed line of pretty-printed custom data", () => {
    // Act
    const parts = diffLines('{\n  "a": 1,\n  "b": 2\n}', '{\n  "a": 1,\n  "b": 3\n}');
    // Assess
    expect(parts).toEqual([
      { kind: "same", text: '{\n  "a": 1,\n' },
      { kind: "removed", text: '  "b": 2\n' },
      { kind: "added", text: '  "b": 3\n' },
      { kind: "same", text: "}" },
    ]);
  });
});

describe("diffTokens", () => {
  const tokens = fc.array(fc.constantFrom("a", "b", "c", " ", "d"), { maxLength: 24 });

  it("rebuilds both sides exactly and keeps a longest common subsequence (property)", () => {
    fc.assert(
      fc.property(tokens, tokens, (before, after) => {
        // Act
        const parts = diffTokens(before, after);
        // Assess
        expect(side(parts, "before")).toBe(before.join(""));
        expect(side(parts, "after")).toBe(after.join(""));
        const kept = diffTokens(before, after).filter((part) => part.kind === "same");
        // Tokens are one character here, so the kept text's length is the number of kept tokens.
        expect(kept.reduce((sum, part) => sum + part.text.length, 0)).toBe(lcsLength(before, after));
        // Adjacent parts of one kind are merged.
        for (let i = 1; i < parts.length; i++) expect(parts[i]?.kind).not.toBe(parts[i - 1]?.kind);
      }),
      { seed: 17, numRuns: 300 },
    );
  });

  it("past the cell budget shows the differing middle as one removal and one addition, fast", () => {
    // Prepare: a middle of n × n > MAX_CELLS tokens, with a common head and tail
    const n = Math.ceil(Math.sqrt(MAX_CELLS)) + 10;
    const before = ["head", ...Array.from({ length: n }, (_, i) => `x${i}`), "tail"];
    const after = ["head", ...Array.from({ length: n }, (_, i) => `y${i}`), "tail"];
    // Act
    const started = performance.now();
    const parts = diffTokens(before, after);
    // Assess
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(parts.map((part) => part.kind)).toEqual(["same", "removed", "added", "same"]);
    expect(side(parts, "before")).toBe(before.join(""));
    expect(side(parts, "after")).toBe(after.join(""));
  });
});
