/** @jsxImportSource preact */
import { useState } from "preact/hooks";
import { Alert, TextField } from "./common.tsx";

/** Local sign-in: the API token `npm start` printed, kept in this page's memory only. */
export function TokenSignIn({
  onToken,
  error,
}: {
  readonly onToken: (token: string) => void;
  readonly error: unknown;
}) {
  const [token, setToken] = useState("");
  const [problem, setProblem] = useState<unknown>();
  return (
    <section aria-labelledby="sign-in-heading" class="panel narrow">
      <h2 id="sign-in-heading" tabIndex={-1}>
        Sign in
      </h2>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (token.trim() === "") {
            setProblem(new Error("Enter the API token that npm start printed."));
            return;
          }
          setProblem(undefined);
          onToken(token.trim());
        }}
      >
        <TextField
          id="api-token"
          label="API token"
          type="password"
          value={token}
          onInput={setToken}
          hint="Printed by npm start (or IM_EDIT_API_TOKEN). Kept in this tab's memory only."
          required
        />
        <div class="actions">
          <button type="submit">Sign in</button>
        </div>
      </form>
      <Alert error={problem ?? error} />
    </section>
  );
}

/** AWS sign-in: managed login (the operator's own user), then back here. */
export function CognitoSignIn({
  onSignIn,
  error,
}: {
  readonly onSignIn: () => void;
  readonly error: unknown;
}) {
  return (
    <section aria-labelledby="sign-in-heading" class="panel narrow">
      <h2 id="sign-in-heading" tabIndex={-1}>
        Sign in
      </h2>
      <p>Sign in with your operator account; your edits are recorded under your identity.</p>
      <div class="actions">
        <button type="button" onClick={onSignIn}>
          Sign in
        </button>
      </div>
      <Alert error={error} />
    </section>
  );
}
