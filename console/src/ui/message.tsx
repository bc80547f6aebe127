/** @jsxImportSource preact */
import { useEffect, useRef, useState } from "preact/hooks";
import { type Api, newIdempotencyKey } from "../api.ts";
import type { MessageRecord, VersionItem } from "../schemas.ts";
import { Alert, Status } from "./common.tsx";
import type { MessageActions } from "./message-actions.ts";
import { MessagePanel } from "./message-panel.tsx";

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
