/** @jsxImportSource preact */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { type Api, newIdempotencyKey } from "../api.ts";
import { type ContentChange, customDataOf, editBody, elementsOf, readableData, textOf } from "../content.ts";
import { snippet } from "../format.ts";
import type { MessageRecord, VersionItem } from "../schemas.ts";
import { useAction } from "./action.ts";
import { Alert, ColumnHeads, Fact, Status, TableScroll, TextField, Time } from "./common.tsx";
import { ContentDiff, type ReadableSide } from "./diff-view.tsx";

/**
 * One message: its state and keys, its current content, the edit form, its versions (oldest first) with a
 * restore button each, a compare of any two, and the purge of its history. Everything from the API is
 * rendered as text (Preact escapes it; nothing here sets HTML).
 */
export interface MessageActions {
  /** Sends a change; resolves with the new record, rejects with an ApiError. */
  readonly save: (body: Readonly<Record<string, unknown>>, idempotencyKey: string) => Promise<void>;
  readonly restore: (version: number) => Promise<void>;
  readonly purge: (reason: string) => Promise<number>;
  readonly moreVersions: () => Promise<void>;
  readonly reload: () => Promise<void>;
}

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

function EditForm({
  record,
  save,
}: {
  readonly record: MessageRecord;
  readonly save: MessageActions["save"];
}) {
  const shownText = textOf(record.provider, record.content);
  const shownData = customDataOf(record.provider, record.content);
  const [text, setText] = useState(shownText);
  const [customData, setCustomData] = useState(shownData);
  const { error, setError, status, busy, run } = useAction();
  // The same change sent again (after a timeout or a 5xx) keeps its Idempotency-Key: never applied twice.
  const attempt = useRef<{ signature: string; key: string } | undefined>(undefined);
  // A new version (saved, restored, reloaded) refills the fields in place: the focus stays where it was.
  useEffect(() => {
    setText(shownText);
    setCustomData(shownData);
    attempt.current = undefined;
  }, [record.id, record.version]);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    const change: ContentChange = {
      ...(text !== shownText ? { text } : {}),
      ...(customData !== shownData ? { customData } : {}),
    };
    const built = editBody(record.provider, change);
    if ("problem" in built) {
      setError(new Error(built.problem));
      return;
    }
    const signature = JSON.stringify([record.id, record.version, built.body]);
    if (attempt.current?.signature !== signature) attempt.current = { signature, key: newIdempotencyKey() };
    const { key } = attempt.current;
    await run("Saving…", async () => {
      await save(built.body, key);
      return "";
    });
  };

  return (
    <form class="edit" aria-labelledby="edit-heading" onSubmit={submit}>
      <h3 id="edit-heading">Edit</h3>
      <p class="hint">
        Saved as a new version with If-Match "{record.version}": if the message changed since it was shown,
        nothing is overwritten.
      </p>
      <TextField id="edit-text" label="Text" value={text} onInput={setText} multiline />
      <TextField
        id="edit-custom-data"
        label="Custom data"
        value={customData}
        onInput={setCustomData}
        multiline
        hint={
          record.provider === "tencent"
            ? "CloudCustomData, as a string (JSON by convention)."
            : "Yunxin's extension, as a string (JSON by convention)."
        }
      />
      <div class="actions">
        <button type="submit" aria-disabled={busy}>
          Save
        </button>
      </div>
      <Status text={status} />
      <Alert error={error} />
    </form>
  );
}

function versionOrigin(version: VersionItem): string {
  const parts = [
    version.ruleId !== undefined ? `rule ${version.ruleId}` : "",
    version.jobId !== undefined ? `job ${version.jobId}` : "",
  ];
  return parts.filter((part) => part !== "").join(", ");
}

function VersionsTable({
  record,
  versions,
  more,
  actions,
}: {
  readonly record: MessageRecord;
  readonly versions: readonly VersionItem[];
  readonly more: boolean;
  readonly actions: MessageActions;
}) {
  const action = useAction();
  const { error, status, busy } = action;
  const run = (work: () => Promise<void>, doing: string) =>
    action.run(doing, async () => {
      await work();
      return "";
    });
  return (
    <div class="versions">
      <h3 id="versions-heading">Versions</h3>
      <TableScroll label="Versions, scrollable">
        <table>
          <caption class="visually-hidden">Versions</caption>
          <ColumnHeads names={["Version", "Time", "Source", "Actor", "Rule or job", "Text", "Restore"]} />
          <tbody>
            {versions.map((version) => (
              <tr key={version.version}>
                <th scope="row">{version.version}</th>
                <td>
                  <Time iso={version.at} />
                </td>
                <td>{version.source}</td>
                <td>{version.actor ?? ""}</td>
                <td>{versionOrigin(version)}</td>
                <td>
                  {version.purged
                    ? `purged by ${version.purged.by}: ${version.purged.reason}`
                    : snippet(textOf(record.provider, version.content)) || "(no text)"}
                </td>
                <td>
                  {/* Every version the API calls restorable gets its button, the current one too: restoring
                      it sends the content again (e.g. after the provider's copy was changed elsewhere). */}
                  {version.restorable ? (
                    <button
                      type="button"
                      aria-disabled={busy}
                      onClick={() =>
                        run(() => actions.restore(version.version), `Restoring version ${version.version}…`)
                      }
                    >
                      Restore version {version.version}
                    </button>
                  ) : (
                    (version.notRestorableReason ?? "not restorable")
                  )}
                  {version.version === record.version && " (current)"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
      {more && (
        <button
          type="button"
          aria-disabled={busy}
          onClick={() => run(actions.moreVersions, "Loading more versions…")}
        >
          More versions
        </button>
      )}
      <Status text={status} />
      <Alert error={error} />
    </div>
  );
}

const readable = (record: MessageRecord, version: VersionItem | undefined): ReadableSide => ({
  text: version ? textOf(record.provider, version.content) : "",
  customData: version ? readableData(customDataOf(record.provider, version.content)) : "",
});

function Compare({
  record,
  versions,
}: {
  readonly record: MessageRecord;
  readonly versions: readonly VersionItem[];
}) {
  const latest = versions.at(-1)?.version ?? record.version;
  const [from, setFrom] = useState(String(Math.max(1, latest - 1)));
  const [to, setTo] = useState(String(latest));
  const [shown, setShown] = useState<{ from: number; to: number } | undefined>(undefined);
  const byNumber = (value: number) => versions.find((version) => version.version === value);
  const fromVersion = shown && byNumber(shown.from);
  const toVersion = shown && byNumber(shown.to);
  const purged = [fromVersion, toVersion].filter((version) => version?.purged !== undefined);
  return (
    <form
      class="compare"
      aria-labelledby="compare-heading"
      onSubmit={(event) => {
        event.preventDefault();
        setShown({ from: Number(from), to: Number(to) });
      }}
    >
      <h3 id="compare-heading">Compare versions</h3>
      <div class="field-row">
        <VersionPicker
          id="compare-from"
          label="From version"
          value={from}
          onChange={setFrom}
          versions={versions}
        />
        <VersionPicker id="compare-to" label="To version" value={to} onChange={setTo} versions={versions} />
      </div>
      <div class="actions">
        <button type="submit">Compare</button>
      </div>
      {shown && (
        <div class="compare-result" aria-live="polite">
          <h4>
            Version {shown.from} → version {shown.to}
          </h4>
          {purged.map((version) => (
            <p key={version?.version} class="note">
              Version {version?.version} was purged: its content is gone.
            </p>
          ))}
          <ContentDiff before={readable(record, fromVersion)} after={readable(record, toVersion)} level={5} />
        </div>
      )}
    </form>
  );
}

function VersionPicker(props: {
  readonly id: string;
  readonly label: string;
  readonly value: string;
  readonly onChange: (value: string) => void;
  readonly versions: readonly VersionItem[];
}) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <select
        id={props.id}
        value={props.value}
        onChange={(event) => props.onChange((event.currentTarget as HTMLSelectElement).value)}
      >
        {props.versions.map((version) => (
          <option key={version.version} value={String(version.version)}>
            {version.version}
          </option>
        ))}
      </select>
    </div>
  );
}

function Purge({ actions }: { readonly actions: MessageActions }) {
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState("");
  const { error, setError, status, busy, run } = useAction();
  const reasonRef = useRef<HTMLInputElement | HTMLTextAreaElement | null>(null);
  const openRef = useRef<HTMLButtonElement | null>(null);
  const opened = useRef(false);
  // Into the confirmation: the Reason field; out of it (done or cancelled): back to "Purge history".
  useEffect(() => {
    if (confirming) reasonRef.current?.focus();
    else if (opened.current) openRef.current?.focus();
    opened.current = confirming;
  }, [confirming]);

  const confirm = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    if (reason.trim() === "") {
      setError(new Error("Give a reason: it is kept with the purge."));
      return;
    }
    await run("Purging…", async () => {
      const purged = await actions.purge(reason.trim());
      setConfirming(false);
      setReason("");
      return `History purged: ${purged} ${purged === 1 ? "version" : "versions"} lost their content.`;
    });
  };

  return (
    <div class="purge">
      <h3>Purge history</h3>
      <p class="hint">
        Every version but the newest loses its content; its hash, actor and time stay, with who purged it,
        when and why. This cannot be undone.
      </p>
      {!confirming && (
        <button type="button" class="danger" ref={openRef} onClick={() => setConfirming(true)}>
          Purge history
        </button>
      )}
      {confirming && (
        <form aria-label="Purge confirmation" onSubmit={confirm}>
          <TextField
            id="purge-reason"
            label="Reason"
            value={reason}
            onInput={setReason}
            required
            inputRef={reasonRef}
          />
          <div class="actions">
            <button type="submit" class="danger" aria-disabled={busy}>
              Confirm purge
            </button>
            <button
              type="button"
              onClick={() => {
                setConfirming(false);
                setError(undefined);
              }}
            >
              Cancel
            </button>
          </div>
        </form>
      )}
      <Status text={status} />
      <Alert error={error} />
    </div>
  );
}

/** Loads a message and its versions, and carries out the panel's actions against the API. */
export function MessagePage({ api, id }: { readonly api: Api; readonly id: string }) {
  const [record, setRecord] = useState<MessageRecord>();
  const [versions, setVersions] = useState<VersionItem[]>([]);
  const [nextToken, setNextToken] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [status, setStatus] = useState("Loading the message…");
  const headingRef = useRef<HTMLHeadingElement | null>(null);
  const focused = useRef<string | undefined>(undefined);

  /** The versions again from the first page, as many pages as were shown (plus a new one's). */
  const loadVersions = async (messageId: string, atLeast: number) => {
    const items: VersionItem[] = [];
    let token: string | undefined;
    do {
      const page = await api.versions(messageId, token);
      items.push(...page.items);
      token = page.nextToken;
    } while (token !== undefined && items.length < atLeast);
    setVersions(items);
    setNextToken(token);
  };

  const load = async () => {
    const found = await api.getMessage(id);
    setRecord(found);
    await loadVersions(found.id, 1);
  };

  useEffect(() => {
    let live = true;
    setRecord(undefined);
    setVersions([]);
    setError(undefined);
    setStatus("Loading the message…");
    load().then(
      () => live && setStatus(""),
      (failure: unknown) => {
        if (!live) return;
        setStatus("");
        setError(failure);
      },
    );
    return () => {
      live = false;
    };
  }, [id]);

  // Opening a message moves focus to it (once per message), so keyboard and screen-reader users land there.
  useEffect(() => {
    if (record && focused.current !== record.id) {
      focused.current = record.id;
      headingRef.current?.focus();
    }
  }, [record]);

  if (!record) {
    return (
      <section class="panel" aria-label="Message">
        <Status text={status} />
        <Alert error={error} />
      </section>
    );
  }

  const afterWrite = async (updated: MessageRecord, what: string) => {
    setRecord(updated);
    await loadVersions(updated.id, versions.length + 1);
    setStatus(`${what}: the message is at version ${updated.version}.`);
  };
  const actions: MessageActions = {
    save: async (body, idempotencyKey) => {
      const updated = await api.edit(record.id, body, { ifMatch: record.version, idempotencyKey });
      await afterWrite(updated, "Saved");
    },
    restore: async (version) => {
      const updated = await api.restore(record.id, version, {
        ifMatch: record.version,
        idempotencyKey: newIdempotencyKey(),
      });
      await afterWrite(updated, `Version ${version} restored`);
    },
    purge: async (reason) => {
      const result = await api.purge(record.id, reason);
      await loadVersions(record.id, versions.length);
      return result.purged;
    },
    moreVersions: async () => {
      if (nextToken === undefined) return;
      const page = await api.versions(record.id, nextToken);
      setVersions([...versions, ...page.items]);
      setNextToken(page.nextToken);
    },
    reload: async () => {
      setError(undefined);
      setStatus("Reloading…");
      try {
        await load();
        setStatus("Reloaded.");
      } catch (failure: unknown) {
        setStatus("");
        setError(failure);
      }
    },
  };
  return (
    <MessagePanel
      record={record}
      versions={versions}
      moreVersions={nextToken !== undefined}
      actions={actions}
      headingRef={headingRef}
      notice={
        <>
          <Status text={status} />
          <Alert error={error} />
        </>
      }
    />
  );
}
