/** @jsxImportSource preact */
import { useEffect, useRef, useState } from "preact/hooks";
import { newIdempotencyKey } from "../api.ts";
import { type ContentChange, customDataOf, editBody, textOf } from "../content.ts";
import type { MessageRecord } from "../schemas.ts";
import { useAction } from "./action.ts";
import { Alert, Status, TextField } from "./common.tsx";
import type { MessageActions } from "./message-actions.ts";

/** The edit form: text and custom data, saved as a new version (If-Match the shown one). */
export function EditForm({
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
