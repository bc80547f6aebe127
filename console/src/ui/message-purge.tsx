/** @jsxImportSource preact */
import { useEffect, useRef, useState } from "preact/hooks";
import { useAction } from "./action.ts";
import { Alert, Status, TextField } from "./common.tsx";
import type { MessageActions } from "./message-actions.ts";

/** The purge of the history, behind a confirmation that asks for the reason kept with it. */
export function Purge({ actions }: { readonly actions: MessageActions }) {
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
