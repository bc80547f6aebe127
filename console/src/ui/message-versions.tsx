/** @jsxImportSource preact */
import { useState } from "preact/hooks";
import { customDataOf, readableData, textOf } from "../content.ts";
import { snippet } from "../format.ts";
import type { MessageRecord, VersionItem } from "../schemas.ts";
import { useAction } from "./action.ts";
import { Alert, ColumnHeads, Status, TableScroll, Time } from "./common.tsx";
import { ContentDiff, type ReadableSide } from "./diff-view.tsx";
import type { MessageActions } from "./message-actions.ts";

function versionOrigin(version: VersionItem): string {
  const parts = [
    version.ruleId !== undefined ? `rule ${version.ruleId}` : "",
    version.jobId !== undefined ? `job ${version.jobId}` : "",
  ];
  return parts.filter((part) => part !== "").join(", ");
}

export function VersionsTable({
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

export function Compare({
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
