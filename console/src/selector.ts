/** The "which messages" fields the find form and the bulk job form share, and their API form. */
import type { ListQuery } from "./api.ts";
import { apiTime } from "./format.ts";

export interface SelectorValues {
  readonly provider: string;
  readonly appId: string;
  readonly conversation: string;
  readonly sender: string;
  readonly since: string;
  readonly until: string;
}

export const EMPTY_SELECTOR: SelectorValues = {
  provider: "tencent",
  appId: "",
  conversation: "",
  sender: "",
  since: "",
  until: "",
};

/** A list query's filters, plus the text pattern a job's selector may add. */
export type Selector = Omit<ListQuery, "nextToken"> & { readonly text?: string };

/**
 * The selector the fields make (trimmed, times in API form, empty ones left out, `extra` added the same
 * way), or which field keeps it from being one: each form words that its own way.
 */
export function selectorOf(
  form: SelectorValues,
  extra: { readonly text?: string } = {},
): { selector: Selector } | { missing: "owner" | "since" | "until" } {
  if (form.provider.trim() === "" || form.appId.trim() === "") return { missing: "owner" };
  const since = apiTime(form.since);
  const until = apiTime(form.until);
  if (since === undefined) return { missing: "since" };
  if (until === undefined) return { missing: "until" };
  const optional = {
    conversation: form.conversation.trim(),
    sender: form.sender.trim(),
    since,
    until,
    ...extra,
  };
  return {
    selector: {
      provider: form.provider.trim(),
      appId: form.appId.trim(),
      ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== "")),
    },
  };
}
