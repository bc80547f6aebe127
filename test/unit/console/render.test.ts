import { h } from "preact";
import { renderToString } from "preact-render-to-string";
import { describe, expect, it } from "vitest";
import { diffWords } from "../../../console/src/diff.ts";
import type { MessageRecord, VersionItem } from "../../../console/src/schemas.ts";
import { DiffText } from "../../../console/src/ui/diff-view.tsx";
import type { MessageActions } from "../../../console/src/ui/message-actions.ts";
import { MessagePanel } from "../../../console/src/ui/message-panel.tsx";

/**
 * The message view rendered to HTML as Preact renders it in the browser: message content is text, never
 * markup (the browser proof, no image and no dialog, is the end-to-end test's). And the accessible names
 * the end-to-end tests rely on are there.
 */
const MARKUP = "<img src=x onerror=alert(1)>";
const ESCAPED = "&lt;img src=x onerror=alert(1)>";

const record: MessageRecord = {
  id: "c2c_3kk3ymeh3bilp4bnx5mwsbu5xv",
  provider: "tencent",
  appId: "1400000000",
  kind: "c2c",
  key: { from: "mallory", to: "bob", msgKey: "1_2_3" },
  conversation: "c2c:bob:mallory",
  sender: "mallory",
  state: "sent",
  version: 2,
  content: {
    MsgBody: [
      { MsgType: "TIMTextElem", MsgContent: { Text: MARKUP } },
      { MsgType: "TIMCustomElem", MsgContent: { Data: "<script>alert(2)</script>" } },
    ],
    CloudCustomData: JSON.stringify({ note: "<b onmouseover=alert(3)>x</b>" }),
  },
  editable: true,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:01.000Z",
};

const version = (n: number, text: string, extra: Partial<VersionItem> = {}): VersionItem => ({
  version: n,
  content: { MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: text } }] },
  source: n === 1 ? "callback" : "api",
  actor: "<i>console</i>",
  at: "2026-01-01T00:00:00.000Z",
  restorable: true,
  ...extra,
});

const noop = async () => {};
const actions: MessageActions = {
  save: noop,
  restore: noop,
  purge: async () => 0,
  moreVersions: noop,
  reload: noop,
};

const render = (versions: VersionItem[]) =>
  renderToString(h(MessagePanel, { record, versions, moreVersions: true, actions }));

describe("message view (rendered)", () => {
  it("shows markup in a message's text, elements, custom data and versions as text", () => {
    // Act
    const html = render([version(1, MARKUP), version(2, MARKUP, { jobId: "<u>job</u>" })]);
    // Assess: no element from the content, every piece escaped where it shows
    expect(html).not.toMatch(/<img|<script|<b |<i>|<u>/i);
    expect(html).toContain(`<pre class="content">${ESCAPED}</pre>`);
    expect(html).toContain(`>${ESCAPED}</textarea>`);
    expect(html).toContain("&lt;script>alert(2)&lt;/script>");
    expect(html).toContain("&lt;b onmouseover=alert(3)>x&lt;/b>");
    expect(html).toContain("&lt;i>console&lt;/i>");
    expect(html).toContain("job &lt;u>job&lt;/u>");
  });

  it("shows a diff of markup as text", () => {
    // Act
    const html = renderToString(h(DiffText, { parts: diffWords("hello", MARKUP), label: "Text" }));
    // Assess
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;img");
  });

  it("has the contract's names: Text, Custom data, Save, Versions, Restore version N, Compare, Purge history", () => {
    // Act
    const html = render([
      version(1, "a"),
      version(2, "b"),
      version(3, "c", { restorable: false, notRestorableReason: "its content was purged" }),
    ]);
    // Assess
    expect(html).toMatch(/<h2 id="message-heading" tabindex="-1">Message<\/h2>/);
    expect(html).toMatch(/<label for="edit-text">Text<\/label><textarea id="edit-text"/);
    expect(html).toMatch(/<label for="edit-custom-data">Custom data<\/label><textarea id="edit-custom-data"/);
    expect(html).toMatch(/<button type="submit"[^>]*>Save<\/button>/);
    expect(html).toMatch(/<caption class="visually-hidden">Versions<\/caption>/);
    // One button per restorable version, the current one (2) included; version 3 cannot be restored.
    expect(html.match(/Restore version <!-- -->\d|Restore version \d/g)).toEqual([
      expect.stringMatching(/1$/),
      expect.stringMatching(/2$/),
    ]);
    expect(html).toContain("(current)");
    expect(html).toContain("its content was purged");
    expect(html).toMatch(/<label for="compare-from">From version<\/label><select id="compare-from"/);
    expect(html).toMatch(/<label for="compare-to">To version<\/label><select id="compare-to"/);
    expect(html).toMatch(/<button type="submit"[^>]*>Compare<\/button>/);
    expect(html).toMatch(/<button type="button" class="danger"[^>]*>Purge history<\/button>/);
    expect(html).toContain("More versions");
    expect(html).not.toMatch(/\sstyle=/);
  });
});
