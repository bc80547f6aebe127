/** @jsxImportSource preact */
import { type Api, ApiError, type ListQuery } from "../api.ts";
import { textOf } from "../content.ts";
import { snippet } from "../format.ts";
import { parseMessageRef } from "../keys.ts";
import type { MessageRecord } from "../schemas.ts";
import { EMPTY_SELECTOR, type SelectorValues, selectorOf } from "../selector.ts";
import { useAction } from "./action.ts";
import { Alert, ColumnHeads, SelectorFields, Status, TableScroll, TextField, Time } from "./common.tsx";

/** What the find form holds; kept by the app so it survives opening a message and coming back. */
export interface FindState extends SelectorValues {
  readonly ref: string;
}

export const EMPTY_FIND: FindState = { ...EMPTY_SELECTOR, ref: "" };

export interface Results {
  readonly query: ListQuery;
  readonly items: readonly MessageRecord[];
  readonly nextToken?: string | undefined;
}

const TIME_EXAMPLE = "(for example 2026-01-31 or 2026-01-31T09:00)";
const PROBLEMS = {
  owner: "Provider and App are needed to search.",
  since: `Since is not a date or time ${TIME_EXAMPLE}.`,
  until: `Until is not a date or time ${TIME_EXAMPLE}.`,
} as const;

/** A list query from the form, or what is wrong with it (in words). */
export function listQueryOf(form: FindState): ListQuery | { problem: string } {
  const checked = selectorOf(form);
  return "missing" in checked ? { problem: PROBLEMS[checked.missing] } : checked.selector;
}

export function FindPanel(props: {
  readonly api: Api;
  readonly form: FindState;
  readonly setForm: (form: FindState) => void;
  readonly results: Results | undefined;
  readonly setResults: (results: Results | undefined) => void;
  readonly open: (id: string) => void;
}) {
  const { api, form, setForm, results, setResults } = props;
  const { error, setError, status, busy, run } = useAction();
  const set = (field: keyof FindState) => (value: string) => setForm({ ...form, [field]: value });

  const list = () => {
    const query = listQueryOf(form);
    if ("problem" in query) {
      setError(new Error(query.problem));
      return;
    }
    void run("Searching…", async () => {
      const page = await api.listMessages(query);
      setResults({ query, items: page.items, nextToken: page.nextToken });
      return found(page.items.length, page.nextToken !== undefined);
    });
  };

  const more = () => {
    if (!results?.nextToken) return;
    const { query, items, nextToken } = results;
    void run("Searching…", async () => {
      const page = await api.listMessages({ ...query, nextToken });
      setResults({ query, items: [...items, ...page.items], nextToken: page.nextToken });
      return found(items.length + page.items.length, page.nextToken !== undefined);
    });
  };

  const openRef = () => {
    const ref = parseMessageRef(form.ref, form.provider.trim());
    if (ref.kind === "invalid") {
      setError(new Error(ref.reason));
      return;
    }
    if (ref.kind === "id") {
      setError(undefined);
      props.open(ref.id);
      return;
    }
    if (form.provider.trim() === "" || form.appId.trim() === "") {
      setError(new Error("A key needs Provider and App: fill them in."));
      return;
    }
    void run("Searching…", async () => {
      const record = await api.findByKey(form.provider.trim(), form.appId.trim(), ref.params);
      props.open(record.id);
      return "";
    });
  };

  /** One Search: the message the id or key names when one is given, else the list the filters select. */
  const search = (event: Event) => {
    event.preventDefault();
    if (form.ref.trim() !== "") openRef();
    else list();
  };

  return (
    <section aria-labelledby="find-heading" class="panel">
      <h2 id="find-heading" tabIndex={-1}>
        Find messages
      </h2>
      <form aria-label="Search messages" onSubmit={search}>
        <div class="grid">
          <SelectorFields
            idPrefix="find"
            values={form}
            set={set}
            hints={{
              conversation: "As a record shows it",
              until: "2026-01-31 or 2026-01-31T09:00 (local time)",
            }}
          />
        </div>
        <TextField
          id="find-ref"
          label="Message id or key"
          wide
          value={form.ref}
          onInput={set("ref")}
          hint="Optional. An id (c2c_…), a Tencent MsgKey, a Yunxin message id, or key parameters such as msgKey=…&from=…&to=… or groupId=…&msgSeq=… (keys use Provider and App). Given, Search opens that message instead of listing."
        />
        <div class="actions">
          <button type="submit" aria-disabled={busy}>
            Search
          </button>
        </div>
      </form>
      <Status text={status} />
      <Alert error={error} />
      <Candidates error={error} />
      {results && results.items.length > 0 && (
        <>
          <TableScroll label="Messages found, scrollable">
            <table>
              <caption>Messages found</caption>
              <ColumnHeads names={["Text", "Sent", "Sender", "Conversation", "State", "Version", "Id"]} />
              <tbody>
                {results.items.map((record) => (
                  <tr key={record.id}>
                    <td>
                      <a href={`#/messages/${encodeURIComponent(record.id)}`}>
                        {snippet(textOf(record.provider, record.content)) || "(no text)"}
                      </a>
                    </td>
                    <td>
                      <Time iso={record.createdAt} />
                    </td>
                    <td>{record.sender ?? ""}</td>
                    <td>{record.conversation}</td>
                    <td>{record.state}</td>
                    <td>{record.version}</td>
                    <td class="mono">{record.id}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
          {results.nextToken !== undefined && (
            <button type="button" aria-disabled={busy} onClick={more}>
              More messages
            </button>
          )}
        </>
      )}
    </section>
  );
}

const found = (count: number, more: boolean): string =>
  `${count === 0 ? "No messages" : count === 1 ? "1 message" : `${count} messages`} found${more ? ", more to load" : ""}.`;

/** A key several messages share (409 ambiguous_key): the candidates the API listed, each to open. */
function Candidates({ error }: { readonly error: unknown }) {
  if (!(error instanceof ApiError) || error.code !== "ambiguous_key") return null;
  const listed = (error.details as { candidates?: unknown } | undefined)?.candidates;
  const ids = Array.isArray(listed)
    ? listed.flatMap((candidate: unknown) => {
        const id = (candidate as { id?: unknown } | null)?.id;
        return typeof id === "string" ? [id] : [];
      })
    : [];
  if (ids.length === 0) return null;
  return (
    <nav aria-label="Messages with that key">
      <ul>
        {ids.map((id) => (
          <li key={id}>
            <a href={`#/messages/${encodeURIComponent(id)}`} class="mono">
              {id}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
