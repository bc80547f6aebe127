import { z } from "zod";

/** What the load client (a separate process) prints as one JSON line on stdout. */
export const LoadReport = z.object({
  scheduled: z.number().int(),
  sent: z.number().int(),
  /** Requests that got a response (any status). */
  answered: z.number().int(),
  /** 200 with Tencent's `ActionStatus: "OK"` body. */
  ok: z.number().int(),
  /** Still unanswered when the client stopped waiting. */
  unfinished: z.number().int(),
  statuses: z.record(z.string(), z.number().int()),
  errors: z.record(z.string(), z.number().int()),
  /** Per answered request, from its scheduled send time to the end of its response body. */
  latenciesMs: z.array(z.number()),
  /** Sends per second between the first and the last send. */
  sendRate: z.number(),
  /** How late the client fired a request after its scheduled time, worst case (included in latency). */
  maxSendLagMs: z.number(),
  warmupRequests: z.number().int(),
  warmupMs: z.number(),
});
export type LoadReport = z.infer<typeof LoadReport>;
