import * as z from "zod";
import { type ContentCodec, parseCustomData } from "../../../functions/core/codec.ts";
import {
  BadRequestError,
  ForbiddenError,
  NotFoundError,
  UnauthorizedError,
} from "../../../functions/core/errors.ts";
import { eventKeyOf } from "../../../functions/core/events.ts";
import {
  type Content,
  messageId,
  type ObservedMessage,
  providerName,
} from "../../../functions/core/model.ts";
import type { CallbackProvider, EditPlan, ProviderEditor } from "../../../functions/core/provider.ts";
import { parseJsonBody } from "../../../functions/json.ts";
import { positiveInt } from "../../../functions/providers/env.ts";
import { describeUnusable, type EditorManifest } from "../../../functions/providers/manifest.ts";
import { parseWith } from "../../../functions/validation.ts";
import type { SimulatorManifest } from "../../../local/simulators/registry.ts";
import { FakeCallback, SIGNATURE_HEADER, signatureMatches } from "./callback.ts";
import { FakeRemote } from "./remote.ts";

/**
 * A provider that exists only in tests, registered from test/ through the local stack's `providers`
 * option: proof that a provider is its folder (this one) plus registration, and nothing in functions/,
 * infra/ or local/ names it. Content is `{ text, data? }`, `data` being the app's JSON custom data.
 */
export const FAKE = providerName("fake");
export const FAKE_OPERATOR = "fake-admin";

/** A fake message's im-edit id (prefix `fk`). */
export const fakeId = (appId: string, msgId: string): string => messageId("fk", [FAKE, appId, msgId]);

const FakeEnv = z.object({
  FAKE_APP_ID: z.string().min(1).max(64).optional(),
  FAKE_SECRET: z.string().min(1).optional(),
  FAKE_RATE_LIMIT: z._default(positiveInt, 50),
});

export interface FakeSettings {
  readonly appId: string;
  readonly secret: string;
  readonly rateLimit: number;
}

export const fakeCodec: ContentCodec = {
  text: (content) => (typeof content.text === "string" ? content.text : ""),
  withText: (content, text) => ({ ...content, text }),
  customData: (content) => parseCustomData(content.data),
  withCustomData: (content, data) => {
    const { data: _old, ...rest } = content;
    return data === undefined ? rest : { ...rest, data: JSON.stringify(data) };
  },
};

const FakeEdit = z
  .strictObject({ text: z.string().max(1000).optional(), data: z.record(z.string(), z.unknown()).optional() })
  .refine((body) => body.text !== undefined || body.data !== undefined, "send text or data");

const contentOf = (callback: FakeCallback): Content => ({
  text: callback.text,
  ...(callback.data !== undefined ? { data: callback.data } : {}),
});

function createCallbacks(settings: FakeSettings): CallbackProvider {
  const observed = (callback: FakeCallback): ObservedMessage => ({
    id: fakeId(settings.appId, callback.id),
    provider: FAKE,
    appId: settings.appId,
    kind: "c2c",
    key: { msgId: callback.id, from: callback.from, to: callback.to },
    conversation: [callback.from, callback.to].sort().join("|"),
    sender: callback.from,
    lookupKey: `fake#${callback.id}`,
    sentAt: new Date(callback.at).toISOString(),
  });
  const ack = { status: 200, body: { ok: true } };
  return {
    name: FAKE,
    appId: settings.appId,
    operator: FAKE_OPERATOR,
    ack,
    reply: () => ack,
    verify(request) {
      if (!signatureMatches(settings.secret, request.body, request.headers[SIGNATURE_HEADER])) {
        throw new UnauthorizedError("bad or missing signature");
      }
      const { app } = parseJsonBody(request.body) as { app?: unknown };
      if (app !== settings.appId) throw new ForbiddenError("not this app's callback");
    },
    interpret(request) {
      const callback = parseWith(FakeCallback, parseJsonBody(request.body), "invalid fake callback");
      const common = {
        message: observed(callback),
        content: contentOf(callback),
        eventAt: callback.at,
        eventKey: eventKeyOf(request.body),
      };
      return callback.type === "message.sent"
        ? [{ type: "sent", ...common }]
        : [
            {
              type: "modified",
              ...common,
              at: request.receivedAt.toISOString(),
              ...(callback.by !== undefined ? { actor: callback.by } : {}),
            },
          ];
    },
    lookup(appId, params) {
      const { msgId } = params;
      if (msgId === undefined) return undefined;
      if (!/^[A-Za-z0-9-]{1,64}$/.test(msgId)) throw new BadRequestError("msgId is not a fake message id");
      return { id: fakeId(appId, msgId), lookupKey: `fake#${msgId}`, matches: () => true };
    },
  };
}

function createEditor(settings: FakeSettings, remote: FakeRemote): ProviderEditor {
  const plan = (current: Content, send: Content): EditPlan => ({ content: { ...current, ...send }, send });
  return {
    name: FAKE,
    appId: settings.appId,
    parseChange: (body) => parseWith(FakeEdit, body, "invalid fake edit"),
    plan: (head, change) => {
      const edit = change as z.infer<typeof FakeEdit>;
      const current = head.content ?? {};
      let content = edit.text !== undefined ? fakeCodec.withText(current, edit.text) : current;
      if (edit.data !== undefined) content = fakeCodec.withCustomData(content, edit.data);
      const send: Record<string, unknown> = {};
      if (edit.text !== undefined) send.text = content.text;
      if (edit.data !== undefined) send.data = content.data;
      return plan(current, send);
    },
    // The modify call overwrites what it is sent: a restore sends every field, empty for absent ones.
    planRestore: (_head, target) => ({
      content: target,
      send: { text: typeof target.text === "string" ? target.text : "", data: target.data ?? "" },
    }),
    notRestorable: () => undefined,
    checkEditable: () => {},
    rateKeys: (head) => [`${FAKE}:${head.appId}:modify`],
    modify: async (head, send) => {
      const done = remote.modify(head.key.msgId ?? "", send, FAKE_OPERATOR);
      if (!done) throw new NotFoundError("the fake remote has no such message");
      return { providerRequestId: done.requestId };
    },
    readBack: async (head) => {
      const message = remote.messages.get(head.key.msgId ?? "");
      return message
        ? { text: message.text, ...(message.data !== undefined ? { data: message.data } : {}) }
        : null;
    },
  };
}

/** The fake provider, its editor bound to `remote`, and its local simulator (which is that remote). */
export function createFakeProvider(remote: FakeRemote = new FakeRemote("fake-app")): {
  manifest: EditorManifest<typeof FakeEnv, FakeSettings>;
  simulator: SimulatorManifest<FakeRemote>;
  remote: FakeRemote;
} {
  const manifest: EditorManifest<typeof FakeEnv, FakeSettings> = {
    name: FAKE,
    kinds: ["c2c"],
    idPrefixes: ["fk"],
    config: {
      schema: FakeEnv,
      settings: (e) =>
        e.FAKE_APP_ID !== undefined && e.FAKE_SECRET !== undefined
          ? { appId: e.FAKE_APP_ID, secret: e.FAKE_SECRET, rateLimit: e.FAKE_RATE_LIMIT }
          : undefined,
      appId: (e) => e.FAKE_APP_ID ?? "",
      describe: (settings, unusable) =>
        settings
          ? { appId: settings.appId, secret: "set" }
          : unusable[0]
            ? `FAKE_SECRET ${describeUnusable(unusable[0], FAKE)}`
            : "off (FAKE_APP_ID unset)",
    },
    secrets: [
      {
        variable: "FAKE_SECRET",
        refuses: ["callbacks", "edits"],
        requiredInAws: true,
        appliesTo: (env) => env.FAKE_APP_ID !== undefined && env.FAKE_APP_ID !== "",
      },
    ],
    rateRule: (settings) => ({ limit: settings.rateLimit, windowMs: 1000 }),
    createCallbacks,
    createEditor: (settings) => createEditor(settings, remote),
    codec: fakeCodec,
    cdk: {
      presence: "optional",
      context: [
        {
          key: "fakeAppId",
          prop: "appId",
          description: "the fake provider's app id",
          required: true,
          env: { variable: "FAKE_APP_ID", functions: ["recorder", "editor"] },
        },
        {
          key: "fakeSecretArn",
          prop: "secretArn",
          description: "ARN of the secret holding the fake provider's signing secret",
          required: true,
          secret: "FAKE_SECRET",
        },
      ],
      callbackOutput: { id: "FakeCallbackUrl", description: "the fake provider's callback URL" },
    },
  };
  const simulator: SimulatorManifest<FakeRemote> = {
    name: FAKE,
    simulateByDefault: (env) => env.FAKE_SECRET === undefined,
    start: async (env) => {
      if (env.FAKE_SECRET !== undefined) remote.secret = env.FAKE_SECRET;
      return {
        simulator: remote,
        env: { FAKE_APP_ID: env.FAKE_APP_ID ?? remote.appId, FAKE_SECRET: remote.secret },
      };
    },
    connect: (running, url) => {
      running.callbackUrl = url;
    },
  };
  return { manifest, simulator, remote };
}
