/** @jsxImportSource preact */
import { changed, type DiffPart, diffLines, diffWords, side } from "../diff.ts";

/**
 * A diff as two texts side by side (one above the other on a narrow screen): "Before" with its removals
 * in <del>, "After" with its additions in <ins>. Each side reads as its whole text, so nothing depends on
 * colour alone and a screen reader hears both versions; a sentence says when nothing changed.
 */
export function DiffText({ parts, label }: { readonly parts: readonly DiffPart[]; readonly label: string }) {
  if (!changed(parts)) {
    const text = parts.map((part) => part.text).join("");
    return (
      <>
        <p class="diff-none">{text === "" ? `${label}: empty on both sides.` : `${label}: no change.`}</p>
        {text !== "" && <pre class="content">{text}</pre>}
      </>
    );
  }
  return (
    <div class="diff">
      <DiffSide parts={parts} which="before" />
      <DiffSide parts={parts} which="after" />
    </div>
  );
}

/** One side of a diff: the parts both share, and its own (removals before, additions after). */
function DiffSide({
  parts,
  which,
}: {
  readonly parts: readonly DiffPart[];
  readonly which: "before" | "after";
}) {
  const [label, own, Mark] =
    which === "before" ? (["Before", "removed", "del"] as const) : (["After", "added", "ins"] as const);
  return (
    <div class="diff-side">
      <p class="diff-label">{label}</p>
      <pre class={side(parts, which) === "" ? "empty" : undefined}>
        {parts.map((part, index) =>
          part.kind === "same" ? (
            <span key={index}>{part.text}</span>
          ) : part.kind === own ? (
            <Mark key={index}>{part.text}</Mark>
          ) : null,
        )}
      </pre>
    </div>
  );
}

export interface ReadableSide {
  readonly text: string;
  /** Custom data laid out for reading (content.ts readableData). */
  readonly customData: string;
}

/** Text by words, custom data by lines, under their own headings. */
export function ContentDiff({
  before,
  after,
  level,
}: {
  readonly before: ReadableSide;
  readonly after: ReadableSide;
  readonly level: 3 | 4 | 5;
}) {
  const Heading = `h${level}` as "h3" | "h4" | "h5";
  return (
    <div class="content-diff">
      <Heading>Text</Heading>
      <DiffText parts={diffWords(before.text, after.text)} label="Text" />
      <Heading>Custom data</Heading>
      <DiffText parts={diffLines(before.customData, after.customData)} label="Custom data" />
    </div>
  );
}
