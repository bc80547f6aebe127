import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";

/**
 * WCAG AA contrast of the console's colour pairs, computed from console.css itself: text 4.5:1, control
 * borders and the focus ring 3:1 (WCAG 1.4.3 and 1.4.11). A colour changed in the stylesheet is checked here.
 */
const css = await readFile(new URL("../../../console/console.css", import.meta.url), "utf8");
const variables = new Map(
  [...css.matchAll(/--([a-z-]+):\s*(#[0-9a-f]{6})/gi)].map((m) => [m[1] ?? "", m[2] ?? ""]),
);

function luminance(hex: string): number {
  const channels = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16) / 255);
  const [r = 0, g = 0, b = 0] = channels.map((c) =>
    c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4,
  );
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(foreground: string, background: string): number {
  const colour = (name: string) => {
    const value = variables.get(name);
    if (value === undefined) throw new Error(`console.css has no --${name}`);
    return luminance(value);
  };
  const [light, dark] = [colour(foreground), colour(background)].sort((a, b) => b - a) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

describe("console colours (WCAG AA)", () => {
  it.each([
    ["text", "bg"],
    ["text", "panel"],
    ["muted", "bg"],
    ["muted", "panel"],
    ["accent", "bg"],
    ["accent", "panel"],
    ["accent-text", "accent"],
    ["accent-text", "danger"],
    ["ok", "panel"],
    ["ok", "ok-bg"],
    ["bad", "bad-bg"],
  ])("text --%s on --%s is at least 4.5:1", (foreground, background) => {
    // Act + Assess
    expect(contrast(foreground, background)).toBeGreaterThanOrEqual(4.5);
  });

  it.each([
    ["line", "bg"],
    ["line", "panel"],
    ["focus", "bg"],
    ["focus", "panel"],
  ])("borders and focus --%s on --%s are at least 3:1", (foreground, background) => {
    // Act + Assess
    expect(contrast(foreground, background)).toBeGreaterThanOrEqual(3);
  });
});
