// The message routes' operations: find or look up, read, edit (by id or natural key), and a message's
// versions (list, restore, purge).
import { EDITOR_PROVIDERS } from "../../providers/editor-providers.ts";
import * as z from "../../zod.ts";
import { Operation, TargetById, TargetByKey } from "../operations.ts";
import {
  BAD_REQUEST,
  body,
  EDIT_RESPONSES,
  failure,
  HEADERS,
  keyParameters,
  MESSAGE_ID,
  NO_MESSAGE,
  ok,
  pageOf,
  parameter,
  type TaggedOperations,
  TOO_LARGE,
  writeHeaders,
} from "./parts.ts";
import { ref, requestSchema } from "./shapes.ts";

export function messageOperations(): TaggedOperations {
  const versions = z.getDiscriminatedOption(Operation, "versions").shape;
  const list = z.getDiscriminatedOption(Operation, "list").shape;
  const edit = z.getDiscriminatedOption(Operation, "edit").shape;
  const restore = z.getDiscriminatedOption(Operation, "restore").shape;
  const purge = z.getDiscriminatedOption(Operation, "purge").shape;
  const messageId = parameter("id", "path", TargetById.shape.id, MESSAGE_ID);
  const editBodies = EDITOR_PROVIDERS.flatMap((provider) =>
    provider.editBody ? [{ title: provider.name, ...requestSchema(provider.editBody) }] : [],
  );

  return {
    "GET /v1/messages": {
      operationId: "findMessages",
      tags: ["messages"],
      summary: "Find messages, or look one up by its natural key",
      description:
        "A list by provider and app, narrowed by conversation, sender and send time; or, when the other query " +
        "parameters name a natural key (Tencent C2C `msgKey` [+ `from`, `to`]; group `groupId` + `msgSeq` " +
        "[+ `topicId`]; Yunxin `msgId`), that one record.",
      parameters: [
        parameter("provider", "query", list.provider, "Provider name (tencent, netease)"),
        parameter("appId", "query", list.appId, "The provider's app (Tencent SDKAppID, Yunxin AppKey)"),
        parameter("conversation", "query", list.conversation, "As a record's `conversation` shows it"),
        parameter("sender", "query", list.sender, "The sender's account"),
        parameter("since", "query", list.since, "Sent at or after (ISO 8601 date or time)"),
        parameter("until", "query", list.until, "Sent before (ISO 8601 date or time)"),
        ...pageOf(list.limit, list.nextToken),
        keyParameters(
          list.key,
          "Natural-key fields: `msgKey`, `from`, `to`, `groupId`, `msgSeq`, `topicId`, `msgId`",
        ),
      ],
      responses: {
        "200": ok(
          "A page of records, newest first; or the one record a natural key names (with its ETag)",
          { oneOf: [ref("MessagePage"), ref("MessageRecord")] },
          { ETag: HEADERS.etag },
        ),
        "400": failure(
          "A parameter breaks the schema, `since` after `until`, an incomplete key (`key_too_broad`), a provider " +
            "not configured (`provider_not_configured`), a page token not ours (`invalid_next_token`), a listing " +
            "or partial key the deployment's `LISTINGS` leave out (`listing_disabled`; whole keys always work)",
        ),
        "409": failure(
          "`ambiguous_key`: a MsgKey that matches several messages (the candidates in `details`)",
        ),
      },
    },
    "GET /v1/messages/{id}": {
      operationId: "getMessage",
      tags: ["messages"],
      summary: "A message: its state, keys and current content",
      parameters: [messageId],
      responses: {
        "200": ok("The record", ref("MessageRecord"), { ETag: HEADERS.etag }),
        "404": NO_MESSAGE,
      },
    },
    "PATCH /v1/messages/{id}": {
      operationId: "editMessage",
      tags: ["messages"],
      summary: "Edit a message's text or custom data at the provider",
      description:
        'The body is the message\'s provider\'s edit body. Both take `{ "text": "…" }`. The edit takes the ' +
        "message's lease, calls the provider's modify API within its rate, and records a version (`source: api`).",
      parameters: [messageId, ...writeHeaders(edit)],
      requestBody: body({ anyOf: editBodies }, "The message's provider's edit body (by `title`)"),
      responses: EDIT_RESPONSES,
    },
    "PATCH /v1/messages": {
      operationId: "editMessageByKey",
      tags: ["messages"],
      summary: "Edit a message named by its natural key",
      description: "As `PATCH /v1/messages/{id}`, the message named by the query's natural key.",
      parameters: [
        keyParameters(
          TargetByKey.shape.key,
          "`provider`, `appId` and the natural-key fields (as `GET /v1/messages`)",
        ),
        ...writeHeaders(edit),
      ],
      requestBody: body({ anyOf: editBodies }, "One provider's edit body (by `title`)"),
      responses: {
        ...EDIT_RESPONSES,
        "400": failure(
          "Malformed JSON (`invalid_json`), a field that breaks the schema (`validation_failed`), or a partial " +
            "key without the app listing (`listing_disabled`; the whole natural key always works)",
        ),
      },
    },
    "POST /v1/messages/{id}/restore": {
      operationId: "restoreVersion",
      tags: ["versions"],
      summary: "Edit a message back to one of its versions",
      description:
        "Sends every field of that version (empty values for absent ones): a new version, `source: restore`.",
      parameters: [messageId, ...writeHeaders(restore)],
      requestBody: body(requestSchema(z.object({ version: restore.version })), "The version to send back"),
      responses: EDIT_RESPONSES,
    },
    "GET /v1/messages/{id}/versions": {
      operationId: "listVersions",
      tags: ["versions"],
      summary: "Every version of a message, oldest first",
      parameters: [messageId, ...pageOf(versions.limit, versions.nextToken)],
      responses: {
        "200": ok("A page of versions; each says whether it can be restored", ref("VersionPage")),
        "400": failure("A parameter breaks the schema, or a page token not ours"),
        "404": NO_MESSAGE,
      },
    },
    "DELETE /v1/messages/{id}/versions": {
      operationId: "purgeHistory",
      tags: ["versions"],
      summary: "Purge a message's history",
      description:
        "Every version but the newest loses its content, keeping its hash, actor and time, and who purged it, " +
        "when and why. The reason comes in the query or in the body.",
      parameters: [
        messageId,
        {
          ...parameter("reason", "query", purge.reason, "Why (kept on every purged version)"),
          required: false,
        },
      ],
      requestBody: body(
        requestSchema(z.object({ reason: purge.reason })),
        "Instead of the query's reason",
        false,
      ),
      responses: {
        "200": ok("Purged", ref("Purged")),
        "400": BAD_REQUEST,
        "404": NO_MESSAGE,
        "409": failure("The message is busy with an edit"),
        "413": TOO_LARGE,
      },
    },
  };
}
