/** @jsxImportSource preact */
import type { ComponentChildren } from "preact";
import { customDataOf, elementsOf, readableData, textOf } from "../content.ts";
import type { MessageRecord, VersionItem } from "../schemas.ts";
import { Fact, Time } from "./common.tsx";
import type { MessageActions } from "./message-actions.ts";
import { EditForm } from "./message-edit.tsx";
import { Purge } from "./message-purge.tsx";
import { Compare, VersionsTable } from "./message-versions.tsx";

/**
 * One message: its state and keys, its current content, the edit form, its versions (oldest first) with a
 * restore button each, a compare of two, and the purge of its history. Everything from the API is
 * rendered as text (Preact escapes it; nothing here sets HTML).
 */
export interface MessagePanelProps {
  readonly record: MessageRecord;
  readonly versions: readonly VersionItem[];
  readonly moreVersions: boolean;
  readonly actions: MessageActions;
  readonly headingRef?: { current: HTMLHeadingElement | null };
  /** The page's own status and errors (loading, saved, restored), shown under the message's facts. */
  readonly notice?: ComponentChildren;
}

export function MessagePanel({
  record,
  versions,
  moreVersions,
  actions,
  headingRef,
  notice,
}: MessagePanelProps) {
  const text = textOf(record.provider, record.content);
  const customData = customDataOf(record.provider, record.content);
  const elements = elementsOf(record.provider, record.content);
  return (
    <section aria-labelledby="message-heading" class="panel">
      <h2 id="message-heading" tabIndex={-1} ref={headingRef ?? null}>
        Message
      </h2>
      <dl class="facts">
        <Fact name="Id" value={record.id} />
        <Fact name="Provider" value={record.provider} />
        <Fact name="App" value={record.appId} />
        <Fact name="Kind" value={record.kind} />
        <Fact name="State" value={record.state} />
        <Fact name="Version" value={String(record.version)} />
        <Fact
          name="Editable"
          value={
            record.editable ? "yes" : `no${record.notEditableReason ? `: ${record.notEditableReason}` : ""}`
          }
        />
        <Fact name="Conversation" value={record.conversation} />
        {record.sender !== undefined && <Fact name="Sender" value={record.sender} />}
        {Object.entries(record.key).map(([name, value]) => (
          <Fact
            key={name}
            name={`Key ${name}`}
            value={typeof value === "string" ? value : JSON.stringify(value)}
          />
        ))}
        <Fact name="Sent" value={<Time iso={record.createdAt} />} />
        <Fact name="Updated" value={<Time iso={record.updatedAt} />} />
      </dl>
      <div class="actions">
        <button type="button" onClick={actions.reload}>
          Reload message
        </button>
      </div>
      {notice}

      <h3>Current content</h3>
      <h4>Text</h4>
      <pre class="content">{text === "" ? "(no text)" : text}</pre>
      {elements.length > 0 && (
        <>
          <h4>Elements</h4>
          <ul class="elements">
            {elements.map((element, index) => (
              <li key={index}>
                <span class="element-label">{element.label}</span>
                <pre class="content">{element.value}</pre>
              </li>
            ))}
          </ul>
        </>
      )}
      <h4>Custom data</h4>
      <pre class="content">{customData === "" ? "(none)" : readableData(customData)}</pre>

      <EditForm record={record} save={actions.save} />
      <VersionsTable record={record} versions={versions} more={moreVersions} actions={actions} />
      <Compare key={record.id} record={record} versions={versions} />
      <Purge actions={actions} />
    </section>
  );
}
