import * as z from "zod/mini";

/**
 * What the console reads: `config.json` and the API's answers (README "HTTP API", "Bulk edits"). Loose
 * objects: the API may add fields, the console shows what it knows. zod/mini straight (not the functions'
 * zod.ts): the console words its own errors, so it needs no locale in its bundle.
 */
const Text = z.string();
const When = z.string();

export const TokenConfig = z.looseObject({ mode: z.literal("token"), apiUrl: z.string() });
export const CognitoConfig = z.looseObject({
  mode: z.literal("cognito"),
  apiUrl: z.url(),
  region: z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/)),
  userPoolId: z.string().check(z.minLength(1)),
  userPoolClientId: z.string().check(z.minLength(1)),
  identityPoolId: z.string().check(z.minLength(1)),
  domain: z.url({ protocol: /^https$/ }),
});
export type CognitoConfig = z.infer<typeof CognitoConfig>;
export const ConsoleConfig = z.discriminatedUnion("mode", [TokenConfig, CognitoConfig]);
export type ConsoleConfig = z.infer<typeof ConsoleConfig>;

export const MessageRecord = z.looseObject({
  id: Text,
  provider: Text,
  appId: Text,
  kind: Text,
  key: z.record(z.string(), z.unknown()),
  conversation: Text,
  sender: z.optional(Text),
  operator: z.optional(Text),
  state: Text,
  version: z.number(),
  content: z.record(z.string(), z.unknown()),
  editable: z.boolean(),
  notEditableReason: z.optional(Text),
  sendError: z.optional(z.unknown()),
  createdAt: When,
  updatedAt: When,
});
export type MessageRecord = z.infer<typeof MessageRecord>;

export const VersionItem = z.looseObject({
  version: z.number(),
  content: z.record(z.string(), z.unknown()),
  source: Text,
  actor: z.optional(Text),
  at: When,
  ruleId: z.optional(Text),
  jobId: z.optional(Text),
  purged: z.optional(z.looseObject({ at: When, by: Text, reason: Text })),
  restorable: z.boolean(),
  notRestorableReason: z.optional(Text),
});
export type VersionItem = z.infer<typeof VersionItem>;

const page = <T extends z.core.SomeType>(item: T) =>
  z.looseObject({ items: z.array(item), nextToken: z.optional(z.string()) });
export const MessagePage = page(MessageRecord);
export type MessagePage = z.infer<typeof MessagePage>;
export const VersionPage = page(VersionItem);
export type VersionPage = z.infer<typeof VersionPage>;

/** A dry run's before or after: text, and custom data parsed (an object) or cut (a string). */
export const Readable = z.looseObject({ text: z.optional(Text), customData: z.optional(z.unknown()) });
export type Readable = z.infer<typeof Readable>;

export const JobStatus = z.enum(["queued", "running", "cancelled", "done", "failed"]);
export type JobStatus = z.infer<typeof JobStatus>;

export const Job = z.looseObject({
  id: Text,
  kind: Text,
  status: JobStatus,
  dryRun: z.boolean(),
  matched: z.number(),
  done: z.number(),
  failed: z.number(),
  skipped: z.number(),
  ratePerSec: z.number(),
  etaSeconds: z.optional(z.number()),
  createdAt: When,
  updatedAt: When,
  startedAt: z.optional(When),
  finishedAt: z.optional(When),
  selector: z.optional(z.record(z.string(), z.unknown())),
  rule: z.optional(Text),
  action: z.optional(z.unknown()),
  edit: z.optional(z.boolean()),
  error: z.optional(Text),
  preview: z.optional(z.array(z.looseObject({ id: Text, before: Readable, after: Readable }))),
});
export type Job = z.infer<typeof Job>;
export const JobPage = page(Job);
export type JobPage = z.infer<typeof JobPage>;
export const JobAccepted = z.looseObject({ id: Text, status: JobStatus });
export type JobAccepted = z.infer<typeof JobAccepted>;
export const PurgeResult = z.looseObject({ id: Text, purged: z.number() });
export type PurgeResult = z.infer<typeof PurgeResult>;

export const ErrorBody = z.looseObject({
  error: z.looseObject({
    code: Text,
    message: Text,
    providerCode: z.optional(z.union([z.number(), z.string()])),
    details: z.optional(z.unknown()),
  }),
  outcome: z.optional(Text),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
