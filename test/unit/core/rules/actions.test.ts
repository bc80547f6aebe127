import { describe, expect, it } from "vitest";
import type { ContentCodec } from "../../../../functions/core/codec.ts";
import type { Content } from "../../../../functions/core/model.ts";
import { compileAction, parseAction } from "../../../../functions/core/rules/engine.ts";
import { neteaseCodec } from "../../../../functions/providers/netease/codec.ts";
import { tencentCodec } from "../../../../functions/providers/tencent/codec.ts";

const action = (input: unknown) => compileAction(parseAction(input));

const tencent = (text: string, extra: Record<string, unknown> = {}): Content => ({
  MsgBody: [
    { MsgType: "TIMTextElem", MsgContent: { Text: text } },
    { MsgType: "TIMFaceElem", MsgContent: { Index: 1, Data: "smile" } },
  ],
  ...extra,
});
const netease = (text: string, extra: Record<string, unknown> = {}): Content => ({ text, ...extra });

/** The same cases on both providers' content, through their codecs. */
const providers: readonly [
  string,
  ContentCodec,
  (text: string, extra?: Record<string, unknown>) => Content,
  string,
][] = [
  ["tencent", tencentCodec, tencent, "CloudCustomData"],
  ["netease", neteaseCodec, netease, "extension"],
];

describe.each(providers)("actions on %s content", (_name, codec, make, customField) => {
  const changedText = (input: unknown, text: string) => {
    const outcome = action(input).apply(make(text), codec);
    return outcome.kind === "changed" ? codec.text(outcome.content) : outcome.kind;
  };

  it("redacts every match and keeps everything else", () => {
    // Prepare
    const redact = action({ redact: { pattern: "1[3-9]\\d{9}", mask: "***" } });
    const content = make("call 13912345678 or 15800001111", { [customField]: '{"a":1}' });
    // Act
    const outcome = redact.apply(content, codec);
    // Assess
    expect(outcome.kind).toBe("changed");
    if (outcome.kind !== "changed") return;
    expect(codec.text(outcome.content)).toBe("call *** or ***");
    expect(codec.withText(outcome.content, codec.text(content))).toEqual(content);
  });

  it("replaces with group references", () => {
    expect(
      changedText({ replace: { pattern: "(\\w+)@(\\w+)", with: `$2 at \${1}` } }, "mail bob@example"),
    ).toBe("mail example at bob");
    expect(changedText({ replace: { pattern: "(?P<word>darn)", with: `[\${word}]` } }, "darn it")).toBe(
      "[darn] it",
    );
    expect(changedText({ replace: { pattern: "\\d+", with: "<$&>$$" } }, "a 12 b 3")).toBe("a <12>$ b <3>$");
    // A group that took no part in the match inserts nothing.
    expect(changedText({ replace: { pattern: "a(x)?b", with: "[$1]" } }, "ab axb")).toBe("[] [x]");
    // Inline flags: case-insensitive.
    expect(changedText({ replace: { pattern: "(?i)heck", with: "h*ck" } }, "Heck HECK")).toBe("h*ck h*ck");
  });

  it("ignores empty matches", () => {
    expect(changedText({ redact: { pattern: "x*", mask: "#" } }, "axxbx")).toBe("a#b#");
    expect(changedText({ redact: { pattern: "z*", mask: "#" } }, "abc")).toBe("unchanged");
  });

  it("is unchanged when nothing matches or the result is the same text", () => {
    expect(changedText({ redact: { pattern: "\\d", mask: "*" } }, "no digits")).toBe("unchanged");
    expect(changedText({ replace: { pattern: "a", with: "a" } }, "banana")).toBe("unchanged");
    expect(changedText({ replaceText: { text: "same" } }, "same")).toBe("unchanged");
  });

  it("replaces the whole text", () => {
    expect(changedText({ replaceText: { text: "[removed]" } }, "anything at all")).toBe("[removed]");
  });

  it("leaves a message without text alone", () => {
    const content = codec.withCustomData({}, { a: 1 });
    expect(action({ replaceText: { text: "x" } }).apply(content, codec)).toEqual({ kind: "unchanged" });
    expect(action({ redact: { pattern: ".*", mask: "x" } }).apply(content, codec)).toEqual({
      kind: "unchanged",
    });
  });

  describe("mergeCustomData", () => {
    const merge = action({ mergeCustomData: { corrected: true, by: { rule: "x" } } });
    const merged = (extra: Record<string, unknown>) => {
      const outcome = merge.apply(make("hi", extra), codec);
      return outcome.kind === "changed" ? outcome.content[customField] : outcome;
    };

    it("merges shallowly into the JSON object, keeping its keys", () => {
      expect(merged({ [customField]: '{"lang":"en","corrected":false}' })).toBe(
        '{"lang":"en","corrected":true,"by":{"rule":"x"}}',
      );
    });

    it("treats no custom data and an empty string as {}", () => {
      expect(merged({})).toBe('{"corrected":true,"by":{"rule":"x"}}');
      expect(merged({ [customField]: "" })).toBe('{"corrected":true,"by":{"rule":"x"}}');
    });

    it("skips custom data that is not a JSON object", () => {
      for (const raw of ["plain words", "[1,2]", '"json string"', "42", "{broken"]) {
        expect(merged({ [customField]: raw })).toEqual({ kind: "skipped", reason: "not_json" });
      }
    });

    it("is unchanged when every key already holds the value (compared as JSON)", () => {
      expect(merged({ [customField]: '{"by":{"rule":"x"},"corrected":true,"z":0}' })).toEqual({
        kind: "unchanged",
      });
      expect(action({ mergeCustomData: {} }).apply(make("hi"), codec)).toEqual({ kind: "unchanged" });
    });

    it("keeps the text and the other fields", () => {
      const content = make("hello", { [customField]: '{"a":1}' });
      const outcome = merge.apply(content, codec);
      expect(outcome.kind).toBe("changed");
      if (outcome.kind !== "changed") return;
      expect(codec.withCustomData(outcome.content, { a: 1 })).toEqual(content);
    });
  });
});

describe("Tencent text elements", () => {
  it("acts on the joined text and writes it into the first text element, as an edit { text } does", () => {
    // Prepare
    const content: Content = {
      MsgBody: [
        { MsgType: "TIMTextElem", MsgContent: { Text: "call 139" } },
        { MsgType: "TIMImageElem", MsgContent: { UUID: "img" } },
        { MsgType: "TIMTextElem", MsgContent: { Text: "12345678 now" } },
      ],
    };
    // Act
    const outcome = action({ redact: { pattern: "1[3-9]\\d{9}", mask: "***" } }).apply(content, tencentCodec);
    // Assess
    expect(outcome).toEqual({
      kind: "changed",
      content: {
        MsgBody: [
          { MsgType: "TIMTextElem", MsgContent: { Text: "call *** now" } },
          { MsgType: "TIMImageElem", MsgContent: { UUID: "img" } },
        ],
      },
    });
  });
});

describe("codecs without hasCustomData", () => {
  it("tell no custom data from non-JSON custom data by clearing it", () => {
    // Prepare
    const { hasCustomData: _ignored, ...bare } = neteaseCodec;
    const merge = action({ mergeCustomData: { a: 1 } });
    // Act / Assess
    expect(merge.apply({ text: "x" }, bare)).toEqual({
      kind: "changed",
      content: { text: "x", extension: '{"a":1}' },
    });
    expect(merge.apply({ text: "x", extension: "words" }, bare)).toEqual({
      kind: "skipped",
      reason: "not_json",
    });
  });
});
