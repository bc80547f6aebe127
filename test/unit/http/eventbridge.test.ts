import { describe, expect, it } from "vitest";
import { parseOperation } from "../../../functions/api/operations.ts";
import { BadRequestError } from "../../../functions/core/errors.ts";
import { describeEnvelope, editRequestPayload, eventEnvelope } from "../../../functions/http/eventbridge.ts";

const detail = { target: { id: "c2c_abc" }, body: { text: "fixed" } };

const refusal = (run: () => unknown): { code: string } | undefined => {
  try {
    run();
    return undefined;
  } catch (thrown: unknown) {
    if (thrown instanceof BadRequestError) return { code: thrown.code };
    throw thrown;
  }
};

describe("EditRequested envelopes", () => {
  it("recognizes an EventBridge event and a PutEvents entry; nothing else", () => {
    // Act
    const event = eventEnvelope({ id: "e-1", source: "im-edit", "detail-type": "EditRequested", detail });
    const entry = eventEnvelope({
      Source: "im-edit",
      DetailType: "EditRequested",
      Detail: JSON.stringify(detail),
    });

    // Assess
    expect(event).toEqual({ id: "e-1", source: "im-edit", detailType: "EditRequested", detail });
    expect(entry).toEqual({ source: "im-edit", detailType: "EditRequested", detail: JSON.stringify(detail) });
    expect(eventEnvelope({ action: "edit", ...detail })).toBeUndefined();
    expect(eventEnvelope([1])).toBeUndefined();
    expect(eventEnvelope(null)).toBeUndefined();
  });

  it("the detail becomes a direct-invoke edit: action edit, actor event, the event id as idempotency key", () => {
    // Act
    const payload = editRequestPayload({ id: "e-1", source: "im-edit", detailType: "EditRequested", detail });

    // Assess
    expect(payload).toEqual({ ...detail, action: "edit", actor: "event", idempotencyKey: "event:e-1" });
    expect(parseOperation(payload)).toMatchObject({ action: "edit", target: { id: "c2c_abc" } });
  });

  it("what the detail says wins: restore, its own actor and idempotency key; a JSON string detail is parsed", () => {
    // Prepare
    const restore = {
      action: "restore",
      target: { id: "c2c_abc" },
      version: 1,
      actor: "ops",
      idempotencyKey: "k",
    };

    // Act
    const payload = editRequestPayload({
      id: "e-2",
      source: "im-edit",
      detailType: "EditRequested",
      detail: JSON.stringify(restore),
    });

    // Assess
    expect(payload).toEqual(restore);
  });

  it("refuses another source or detail-type, a detail that is not a JSON object, and actions other than edit/restore", () => {
    const envelope = (over: Record<string, unknown>) => ({
      source: "im-edit",
      detailType: "EditRequested",
      detail,
      ...over,
    });
    expect(refusal(() => editRequestPayload(envelope({ source: "elsewhere" })))).toEqual({
      code: "unsupported_event",
    });
    expect(refusal(() => editRequestPayload(envelope({ detailType: "MessageEdited" })))).toEqual({
      code: "unsupported_event",
    });
    expect(refusal(() => editRequestPayload(envelope({ detail: "{nope" })))).toEqual({
      code: "validation_failed",
    });
    expect(refusal(() => editRequestPayload(envelope({ detail: [detail] })))).toEqual({
      code: "validation_failed",
    });
    for (const action of ["purge", "get", "resolve", 7]) {
      expect(refusal(() => editRequestPayload(envelope({ detail: { ...detail, action } })))).toEqual({
        code: "validation_failed",
      });
    }
  });

  it("describes an event for a log line without its detail", () => {
    const described = describeEnvelope({ id: "e-1", source: "im-edit", detailType: "EditRequested", detail });
    expect(described).toEqual({ source: "im-edit", detailType: "EditRequested", eventId: "e-1" });
    expect(JSON.stringify(described)).not.toContain("fixed");
  });
});
