import { z } from "zod";

/** What the overload bench hands its client process on stdin (one JSON document). */
export const OverloadJob = z.object({
  /** The local stack's base URL (127.0.0.1 only). */
  url: z.string(),
  token: z.string(),
  /** Message ids; client i edits ids[i] only. */
  ids: z.array(z.string()),
  /** Texts are `overload edit <offset + n> of <run>`, n counting the phase's requests from 0. */
  offset: z.number().int(),
  run: z.string(),
  durationMs: z.number(),
  requestTimeoutMs: z.number(),
  phaseLimitMs: z.number(),
});
export type OverloadJob = z.infer<typeof OverloadJob>;

/** One answer (or a first request's network error, status 0), times in epoch ms (timeOrigin + now). */
export const OverloadAnswer = z.object({
  /** Sent as the x-bench-request header, so the server side can be joined to it. */
  request: z.number().int(),
  message: z.number().int(),
  text: z.string(),
  status: z.number().int(),
  startedAt: z.number(),
  doneAt: z.number(),
  first: z.boolean(),
  retryAfter: z.number().optional(),
});
export type OverloadAnswer = z.infer<typeof OverloadAnswer>;

/** What the client prints as its last line on stdout (before it, the line "firing" when it starts). */
export const OverloadReport = z.object({
  sent: z.number().int(),
  /** Epoch ms of the first PATCH and of the end of the firing window. */
  start: z.number(),
  stopAt: z.number(),
  answers: z.array(OverloadAnswer),
  errors: z.record(z.string(), z.number().int()),
  /** The client process's own event-loop utilization while firing. */
  busy: z.number(),
});
export type OverloadReport = z.infer<typeof OverloadReport>;

export const REQUEST_HEADER = "x-bench-request";
