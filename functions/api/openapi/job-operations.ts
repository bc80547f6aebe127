// The job routes' operations: bulk edits (start, list, watch, cancel, resume) and reconcile jobs.
import * as z from "../../zod.ts";
import { CreateJobBody, ReconcileBody } from "../jobs.ts";
import { Operation } from "../operations.ts";
import {
  body,
  failure,
  HEADERS,
  NO_JOB,
  ok,
  pageOf,
  parameter,
  type TaggedOperations,
  TOO_LARGE,
} from "./parts.ts";
import { ref, requestSchema } from "./shapes.ts";

export function jobOperations(): TaggedOperations {
  const listJobs = z.getDiscriminatedOption(Operation, "listJobs").shape;
  const jobId = (action: "getJob" | "cancelJob" | "resumeJob") =>
    parameter(
      "id",
      "path",
      z.getDiscriminatedOption(Operation, action).shape.jobId,
      "Job id (`job_…`); any other string names no job (404)",
    );

  return {
    "POST /v1/edits": {
      operationId: "startJob",
      tags: ["jobs"],
      summary: "Start a bulk edit (or its dry run)",
      description:
        "Every recorded message the selector picks gets exactly one of an edit body, a rule by id, or a rule " +
        "action, at the provider's configured rate. A dry run calls no provider and previews up to 100 changes.",
      requestBody: body(requestSchema(CreateJobBody), "The selector and what to do"),
      responses: {
        "202": ok("Queued", ref("JobAccepted"), { Location: HEADERS.location }),
        "400": failure(
          "A field breaks the schema, not exactly one of edit/rule/action, an unknown rule, a bad pattern, " +
            "`since` not before `until`, a provider not configured, a selector whose listing is off " +
            "(`listing_disabled`: a conversation needs `conversation`, none needs `app`)",
        ),
        "413": TOO_LARGE,
      },
    },
    "GET /v1/edits": {
      operationId: "listJobs",
      tags: ["jobs"],
      summary: "Jobs, newest first",
      parameters: pageOf(listJobs.limit, listJobs.nextToken),
      responses: {
        "200": ok("A page of jobs", ref("JobPage")),
        "400": failure("A parameter breaks the schema, or a page token not ours"),
      },
    },
    "GET /v1/edits/{id}": {
      operationId: "getJob",
      tags: ["jobs"],
      summary: "A job and its progress (counts, rate, ETA, a dry run's preview)",
      parameters: [jobId("getJob")],
      responses: { "200": ok("The job", ref("Job")), "404": NO_JOB },
    },
    "POST /v1/edits/{id}/cancel": {
      operationId: "cancelJob",
      tags: ["jobs"],
      summary: "Cancel a job",
      description: "Calls in flight may finish; none starts after the answer.",
      parameters: [jobId("cancelJob")],
      responses: {
        "200": ok("Cancelled", ref("Job")),
        "404": NO_JOB,
        "409": failure("`job_finished` (done, failed or cancelled already), or busy (`write_contention`)"),
      },
    },
    "POST /v1/edits/{id}/resume": {
      operationId: "resumeJob",
      tags: ["jobs"],
      summary: "Resume a cancelled, failed or interrupted job from its checkpoint",
      parameters: [jobId("resumeJob")],
      responses: {
        "202": ok("Queued again", ref("JobAccepted"), { Location: HEADERS.location }),
        "404": NO_JOB,
        "409": failure("`job_finished` (done), or busy (`write_contention`)"),
      },
    },
    "POST /v1/reconcile": {
      operationId: "startReconcile",
      tags: ["jobs"],
      summary: "Record what no callback reported, from the provider's history of one conversation",
      description: "A job of `kind: reconcile` (watch, cancel and resume it like every other job).",
      requestBody: body(
        requestSchema(ReconcileBody),
        "The conversation (a pair of accounts, or a group) and [since, until)",
      ),
      responses: {
        "202": ok("Queued", ref("JobAccepted"), { Location: HEADERS.location }),
        "400": failure(
          "A field breaks the schema, not exactly one of pair/groupId, a provider without a history API " +
            "(`reconcile_unsupported`) or not configured",
        ),
        "413": TOO_LARGE,
      },
    },
  };
}
