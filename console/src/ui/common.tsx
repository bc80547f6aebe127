/** @jsxImportSource preact */
import type { ComponentChildren } from "preact";
import { ApiError } from "../api.ts";
import { formatTime } from "../format.ts";
import type { SelectorValues } from "../selector.ts";

/** What a failure says to the operator: the API's explanation, or the error's own words. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.explanation;
  return error instanceof Error ? error.message : String(error);
}

interface TextFieldProps {
  readonly id: string;
  readonly label: string;
  readonly value: string;
  readonly onInput: (value: string) => void;
  readonly hint?: string | undefined;
  readonly required?: boolean | undefined;
  readonly multiline?: boolean;
  /** A field on its own full-width row (multiline ones always are). */
  readonly wide?: boolean;
  readonly type?: "text" | "password";
  readonly autoComplete?: string;
  readonly inputRef?: { current: HTMLInputElement | HTMLTextAreaElement | null };
}

/** A visible label, an optional hint tied to the control, and the control (input or textarea). */
export function TextField(props: TextFieldProps) {
  const hintId = props.hint !== undefined ? `${props.id}-hint` : undefined;
  const shared = {
    id: props.id,
    name: props.id,
    value: props.value,
    required: props.required ?? false,
    "aria-describedby": hintId,
    onInput: (event: Event) => props.onInput((event.currentTarget as HTMLInputElement).value),
  };
  return (
    <div class={props.multiline || props.wide ? "field field-wide" : "field"}>
      <label for={props.id}>{props.label}</label>
      {props.multiline ? (
        <textarea {...shared} rows={4} ref={props.inputRef as { current: HTMLTextAreaElement | null }} />
      ) : (
        <input
          {...shared}
          // Preact's input types are a union by `type`; the field only ever renders these two.
          type={(props.type ?? "text") as "text"}
          autoComplete={props.autoComplete ?? "off"}
          spellcheck={false}
          ref={props.inputRef as { current: HTMLInputElement | null }}
        />
      )}
      {hintId !== undefined && (
        <p id={hintId} class="hint">
          {props.hint}
        </p>
      )}
    </div>
  );
}

/**
 * The "which messages" fields of a form, with ids `${idPrefix}-provider`, `-app`, `-conversation`,
 * `-sender`, `-since`, `-until`; each form gives its own hints for Conversation and Until.
 */
export function SelectorFields(props: {
  readonly idPrefix: string;
  readonly values: SelectorValues;
  readonly set: (field: keyof SelectorValues) => (value: string) => void;
  readonly required?: boolean | undefined;
  readonly hints: { readonly conversation?: string; readonly until: string };
}) {
  const { idPrefix, values, set, required, hints } = props;
  return (
    <>
      <TextField
        id={`${idPrefix}-provider`}
        label="Provider"
        value={values.provider}
        onInput={set("provider")}
        required={required}
        hint="tencent or netease"
      />
      <TextField
        id={`${idPrefix}-app`}
        label="App"
        value={values.appId}
        onInput={set("appId")}
        required={required}
        hint="SdkAppid or AppKey"
      />
      <TextField
        id={`${idPrefix}-conversation`}
        label="Conversation"
        value={values.conversation}
        onInput={set("conversation")}
        hint={hints.conversation}
      />
      <TextField id={`${idPrefix}-sender`} label="Sender" value={values.sender} onInput={set("sender")} />
      <TextField
        id={`${idPrefix}-since`}
        label="Since"
        value={values.since}
        onInput={set("since")}
        hint="2026-01-31 or 2026-01-31T09:00 (local time)"
      />
      <TextField
        id={`${idPrefix}-until`}
        label="Until"
        value={values.until}
        onInput={set("until")}
        hint={hints.until}
      />
    </>
  );
}

/** One fact of a `<dl class="facts">`: its name and its value. */
export function Fact({ name, value }: { readonly name: string; readonly value: ComponentChildren }) {
  return (
    <div>
      <dt>{name}</dt>
      <dd>{value}</dd>
    </div>
  );
}

/** An error as text, announced when it appears. */
export function Alert({ error }: { readonly error: unknown }) {
  if (error === undefined || error === null) return null;
  return (
    <p role="alert" class="alert">
      {describeError(error)}
    </p>
  );
}

/** A polite live region, always in the page so its changes are announced. */
export function Status({ text }: { readonly text: string }) {
  return (
    <p role="status" class="status">
      {text}
    </p>
  );
}

export function Time({ iso }: { readonly iso: string | undefined }) {
  if (iso === undefined) return null;
  return <time dateTime={iso}>{formatTime(iso)}</time>;
}

/** A table's column headings, in a `<thead>`. */
export function ColumnHeads({ names }: { readonly names: readonly string[] }) {
  return (
    <thead>
      <tr>
        {names.map((name) => (
          <th scope="col" key={name}>
            {name}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/** A wide table scrolls on its own at high zoom; the region makes it reachable by keyboard. */
export function TableScroll({
  label,
  children,
}: {
  readonly label: string;
  readonly children: ComponentChildren;
}) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be focusable to scroll by keyboard
    <section class="table-scroll" aria-label={label} tabIndex={0}>
      {children}
    </section>
  );
}
