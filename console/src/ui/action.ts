import { useState } from "preact/hooks";

/**
 * One action at a time with what it is doing (a status line) and how it failed (an error): `run` says
 * `doing` while the work runs, then the status the work resolves with, or the failure. While one runs,
 * another is ignored (the buttons stay focusable: aria-disabled, not disabled).
 */
export function useAction() {
  const [error, setError] = useState<unknown>();
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);
  const run = async (doing: string, work: () => Promise<string>) => {
    if (busy) return;
    setBusy(true);
    setError(undefined);
    setStatus(doing);
    try {
      setStatus(await work());
    } catch (failure: unknown) {
      setStatus("");
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return { error, setError, status, busy, run };
}
