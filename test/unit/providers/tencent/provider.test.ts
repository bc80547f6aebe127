import { describe, expect, it } from "vitest";
import { BadRequestError } from "../../../../functions/core/errors.ts";
import { eventMessageId, type RecorderEvent } from "../../../../functions/core/recorder-events.ts";
import { elementProblems } from "../../../../functions/providers/tencent/elements.ts";
import { c2cId, groupMessageId } from "../../../../functions/providers/tencent/identity.ts";
import { thrown } from "../../../helpers/errors.ts";
import { fixture } from "../../../helpers/fixtures.ts";
import { callbackRequest, tencentProvider } from "../../../helpers/tencent.ts";

const provider = tencentProvider();

/** The message an event carries (every Tencent event carries one). */
function messageOf(event: RecorderEvent | undefined) {
  if (!event || !("message" in event) || !event.message) throw new Error("event carries no message");
  return event.message;
}
const interpret = (body: unknown, query?: Record<string, string>) =>
  provider.interpret(callbackRequest(body, query));

describe("tencent callbacks: interpretation", () => {
  it("records a C2C after-send as sent, keyed by From + To + MsgKey, with every key field", () => {
    // Act
    const [event] = interpret(fixture("tencent", "c2c-after-send"));
    // Assess
    expect(event).toMatchObject({
      type: "sent",
      content: {
        MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: "red packet" } }],
        CloudCustomData: "your cloud custom data",
      },
      message: {
        provider: "tencent",
        appId: "1400000000",
        kind: "c2c",
        sender: "jared",
        conversation: "c2c:Jonh:jared",
        key: {
          from: "jared",
          to: "Jonh",
          msgKey: "48374_2837546_1557481126",
          msgSeq: "48374",
          msgRandom: "2837546",
          msgTime: "1557481126",
          msgId: "144115233406643804-1727580296-4026038328",
        },
        sentAt: "2019-05-10T09:38:46.000Z",
      },
    });
    expect(event).not.toHaveProperty("sendError");
  });

  it("gives the before-send and the after-send of one C2C message the same id", () => {
    const [before] = interpret(fixture("tencent", "c2c-before-send"));
    const [after] = interpret(fixture("tencent", "c2c-after-send"));
    expect(before?.type).toBe("pending");
    expect(before && eventMessageId(before)).toBe(after && eventMessageId(after));
  });

  it("tells apart two recipients of one batchsendmsg MsgKey", () => {
    const payload = fixture("tencent", "c2c-after-send");
    const [a] = interpret(payload);
    const [b] = interpret({ ...payload, To_Account: "someone-else" });
    expect(a && eventMessageId(a)).not.toBe(b && eventMessageId(b));
    expect(messageOf(a).lookupKey).toBe(messageOf(b).lookupKey);
  });

  it("records a failed C2C send with its error", () => {
    const [event] = interpret(fixture("tencent", "synthetic-c2c-after-send-failed"));
    expect(event).toMatchObject({ type: "sent", sendError: { code: 80001, info: "hit dirty words" } });
  });

  it("accepts the legacy after-send without MsgId and EventTime", () => {
    const [event] = interpret(fixture("tencent", "synthetic-c2c-after-send-legacy"));
    expect(event?.type).toBe("sent");
    expect(messageOf(event).key.msgId).toBeUndefined();
  });

  it("keys a group before-send provisionally and completes it by the after-send with the same Random", () => {
    const [before] = interpret(fixture("tencent", "group-before-send"));
    const [after] = interpret(fixture("tencent", "synthetic-group-after-send-topic"));
    expect(before?.type).toBe("pending");
    expect(before && eventMessageId(before)).toMatch(/^pgrp_/);
    expect(messageOf(before).lookupKey).toBeUndefined();
    expect(after).toMatchObject({ type: "sent", provisionalId: before && eventMessageId(before) });
    expect(after && eventMessageId(after)).toMatch(/^grp_/);
  });

  it("accepts EventTime as a string, a number or absent", () => {
    const payload = fixture("tencent", "group-after-send");
    const asNumber = interpret({ ...payload, EventTime: 1670574414123 });
    const asString = interpret({ ...payload, EventTime: "1670574414123" });
    const { EventTime: _, ...withoutTime } = payload;
    // The bytes differ, so the events' order fields do (eventKey is a hash of the body; without
    // EventTime, eventAt falls back): everything else must be equal.
    const ordered = (events: RecorderEvent[]) =>
      events.map((event) => ({ ...event, eventKey: undefined, eventAt: undefined }));
    expect(ordered(asString)).toEqual(ordered(asNumber));
    expect(ordered(interpret(withoutTime))).toEqual(ordered(asNumber));
  });

  it('treats TopicId "" as no topic: same id, same conversation', () => {
    const payload = fixture("tencent", "group-after-send");
    const [absent] = interpret(payload);
    const [empty] = interpret({ ...payload, TopicId: "" });
    const [topic] = interpret({ ...payload, TopicId: "@TGS#_@TGS#2J4SZEAEL@TOPIC#_t" });
    expect(empty && eventMessageId(empty)).toBe(absent && eventMessageId(absent));
    expect(messageOf(empty).conversation).toBe(messageOf(absent).conversation);
    expect(messageOf(empty).key.topicId).toBeUndefined();
    expect(topic && eventMessageId(topic)).not.toBe(absent && eventMessageId(absent));
  });

  it("marks every recalled group message of the list", () => {
    const payload = fixture("tencent", "group-after-recall");
    const events = interpret({ ...payload, MsgSeqList: [{ MsgSeq: 130 }, { MsgSeq: 131, MsgId: "x" }] });
    expect(events.map((e) => e.type)).toEqual(["recalled", "recalled"]);
    expect(messageOf(events[0]).id).not.toBe(messageOf(events[1]).id);
  });

  it("recognizes the C2C recall of a recorded message (and its legacy form)", () => {
    const [sent] = interpret(fixture("tencent", "c2c-after-send"));
    const [recall] = interpret(fixture("tencent", "c2c-after-withdraw"));
    const [legacy] = interpret(fixture("tencent", "synthetic-c2c-after-withdraw-legacy"));
    expect(recall && eventMessageId(recall)).toBe(sent && eventMessageId(sent));
    expect(legacy?.type).toBe("recalled");
  });

  it("reads after-modify callbacks as modifications by the operator", () => {
    const [c2c] = interpret(fixture("tencent", "c2c-after-modify"));
    const [group] = interpret(fixture("tencent", "group-after-modify"));
    expect(c2c).toMatchObject({
      type: "modified",
      actor: "jared",
      content: { CloudCustomData: "1769772027" },
    });
    expect(group).toMatchObject({ type: "modified", actor: "oper-user" });
    expect(group?.type === "modified" && group.content).not.toHaveProperty("CloudCustomData");
  });

  it("skips AVChatRoom groups by default and records them as not editable when asked", () => {
    const payload = fixture("tencent", "synthetic-group-after-send-avchatroom");
    expect(interpret(payload)).toEqual([]);
    const [event] = tencentProvider({ recordAvChatRoom: true }).interpret(callbackRequest(payload));
    expect(messageOf(event).notEditable).toMatch(/AVChatRoom/);
  });

  it("records a group send exception as a failed provisional message", () => {
    const [event] = interpret(fixture("tencent", "synthetic-group-send-exception"));
    expect(event).toMatchObject({ type: "failed", sendError: { code: 10016 } });
    expect(event && eventMessageId(event)).toMatch(/^pgrp_/);
  });

  it("ignores commands it does not record", () => {
    expect(interpret({ CallbackCommand: "Group.CallbackAfterNewMemberJoin", GroupId: "g" })).toEqual([]);
  });

  it("keeps unknown element fields and ignores unknown top-level fields", () => {
    const payload = fixture("tencent", "c2c-after-send");
    const body = [{ MsgType: "TIMRelayElem", MsgContent: { Title: "t", MsgNum: 2 }, Future: 1 }];
    const [event] = interpret({ ...payload, MsgBody: body, SomethingNew: true });
    expect(event?.type === "sent" && event.content.MsgBody).toEqual(body);
  });

  it.each([
    ["malformed JSON", "{not json", /not valid JSON/],
    ["an empty body", "", /empty/],
    ["a JSON array", "[]", /JSON object/],
    ["invalid UTF-8", Buffer.from([0xff, 0xfe]).toString("latin1"), /./],
  ])("refuses %s with 400", (_, body, message) => {
    expect(() => interpret(body)).toThrow(BadRequestError);
    expect(() => interpret(body)).toThrow(message);
  });

  it("refuses a schema violation with zod details", () => {
    const payload = { ...fixture("tencent", "c2c-after-send"), MsgSeq: -1, From_Account: 7 };
    try {
      interpret(payload);
      expect.unreachable();
    } catch (error: unknown) {
      expect(error).toBeInstanceOf(BadRequestError);
      const details = (error as BadRequestError).details as { fieldErrors: Record<string, unknown> };
      expect(Object.keys(details.fieldErrors)).toEqual(expect.arrayContaining(["MsgSeq", "From_Account"]));
    }
  });

  it("refuses a body whose command differs from the URL's", () => {
    expect(() =>
      interpret(fixture("tencent", "c2c-after-send"), { CallbackCommand: "C2C.CallbackBeforeSendMsg" }),
    ).toThrow(/differ/);
  });
});

describe("tencent callbacks: hostile input is a 400, never a 500 or an unreadable record", () => {
  const c2c = fixture("tencent", "c2c-after-send");
  const group = fixture("tencent", "group-after-send");
  const refused = (body: unknown) => thrown(() => interpret(body));

  it.each(["constructor", "toString", "__proto__", "hasOwnProperty"])(
    "stores an element of MsgType %s and reports it as not restorable instead of throwing",
    (name) => {
      const body = [{ MsgType: name, MsgContent: {} }];
      const [event] = interpret({ ...c2c, MsgBody: body });
      expect(event?.type === "sent" && event.content.MsgBody).toEqual(body);
      expect(elementProblems(body)).toEqual([expect.stringContaining(`MsgType "${name}" is not one of`)]);
    },
  );

  it.each([
    ["MsgTime beyond 32-bit seconds", { ...c2c, MsgTime: 1e13 }],
    ["MsgTime at 2^53 - 1", { ...c2c, MsgTime: Number.MAX_SAFE_INTEGER }],
    ["EventTime past Date's range", { ...c2c, EventTime: 8.64e15 + 1 }],
    ["EventTime as a 16-digit string", { ...c2c, EventTime: "9999999999999999" }],
    ["group MsgTime beyond 32-bit seconds", { ...group, MsgTime: 2 ** 40 }],
    ["after-modify MsgTime", { ...fixture("tencent", "c2c-after-modify"), MsgTime: 1e13 }],
  ])("refuses %s with 400, not a RangeError", (_, body) => {
    expect(refused(body)).toBeInstanceOf(BadRequestError);
  });

  it.each([
    ["From_Account", { ...c2c, From_Account: "\ud800" }],
    ["To_Account", { ...c2c, To_Account: "a\udfffb" }],
    ["GroupId", { ...group, GroupId: "\ud800" }],
    ["MsgKey", { ...c2c, MsgKey: "\ud800" }],
    ["CloudCustomData", { ...c2c, CloudCustomData: "x\ud800" }],
  ])("refuses a lone UTF-16 surrogate in %s with 400 (no URIError, nothing stored as U+FFFD)", (_, body) => {
    const error = refused(body);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toMatch(/surrogate/);
  });

  it.each([
    ["an integer above 2^53", 2 ** 53 + 2],
    ["1e21", 1e21],
    ["a number DynamoDB underflows", 1e-200],
  ])("refuses an element holding %s, which the store cannot keep, with 400", (_, value) => {
    const body = [{ MsgType: "TIMCustomElem", MsgContent: { Data: "d", Size: value } }];
    expect(refused({ ...c2c, MsgBody: body })).toBeInstanceOf(BadRequestError);
  });

  it("refuses a body nested deeper than the store holds with 400", () => {
    const deep = JSON.parse(`${"[".repeat(40)}1${"]".repeat(40)}`) as unknown;
    const error = refused({ ...c2c, MsgBody: [{ MsgType: "TIMCustomElem", MsgContent: { Data: deep } }] });
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toMatch(/nested deeper/);
  });

  it.each([
    ["TopicId", { ...group, TopicId: "界".repeat(3000) }],
    ["GroupId", { ...group, GroupId: "界".repeat(200) }],
    ["From_Account", { ...c2c, From_Account: "🙂".repeat(100) }],
  ])("refuses a %s too long for a DynamoDB key once percent-encoded, with 400", (_, body) => {
    expect(refused(body)).toBeInstanceOf(BadRequestError);
  });
});

describe("tencent callbacks: liberal in what they acknowledge", () => {
  it("skips an AVChatRoom callback lacking fields im-edit would not use, instead of refusing it", () => {
    expect(interpret(fixture("tencent", "synthetic-group-after-send-avchatroom-sparse"))).toEqual([]);
  });

  it("skips Live (live-streaming room) groups like AVChatRoom, and records them as not editable when asked", () => {
    const payload = fixture("tencent", "synthetic-group-after-send-live");
    expect(interpret(payload)).toEqual([]);
    const [event] = tencentProvider({ recordAvChatRoom: true }).interpret(callbackRequest(payload));
    expect(messageOf(event).notEditable).toMatch(/Live/);
  });

  it.each(["Public", "Work", "Meeting", "Community", "Private", "ChatRoom"])(
    "keeps %s group messages editable",
    (type) => {
      const [event] = interpret({ ...fixture("tencent", "group-after-send"), Type: type });
      expect(messageOf(event).notEditable).toBeUndefined();
    },
  );

  it("accepts a group after-send without Random (its identity is GroupId + MsgSeq)", () => {
    const { Random: _, ...payload } = fixture("tencent", "group-after-send");
    const [event] = interpret(payload);
    expect(event).toMatchObject({ type: "sent", message: { key: { msgSeq: "123" } } });
    expect(event).not.toHaveProperty("provisionalId");
  });

  it("still needs Random where the identity uses it: group before-send and send exception", () => {
    const { Random: _, ...before } = fixture("tencent", "group-before-send");
    expect(() => interpret(before)).toThrow(BadRequestError);
  });

  it("ignores documented fields it never reads, whatever their type", () => {
    const payload = { ...fixture("tencent", "c2c-after-send"), OnlineOnlyFlag: "1", UnreadMsgNum: null };
    expect(interpret(payload)).toHaveLength(1);
  });
});

describe("tencent lookups", () => {
  const APP = "1400000000";
  it("maps msgKey (with optional from/to) and groupId + msgSeq (+ topicId) to index entries", () => {
    expect(provider.lookup(APP, { msgKey: "1_2_3" })?.lookupKey).toBe("c2c|1_2_3");
    expect(provider.lookup(APP, { groupId: "g", msgSeq: "5" })?.lookupKey).toBe("group|g|5");
    expect(provider.lookup(APP, { conversation: "x" })).toBeUndefined();
  });

  it("names the message id for a whole key: one read, no index", () => {
    expect(provider.lookup(APP, { msgKey: "1_2_3", from: "a", to: "b" })?.id).toBe(
      c2cId(APP, "a", "b", "1_2_3"),
    );
    expect(provider.lookup(APP, { groupId: "g", msgSeq: "5" })?.id).toBe(groupMessageId(APP, "g", "", 5));
    expect(provider.lookup(APP, { groupId: "g", msgSeq: "5", topicId: "t" })?.id).toBe(
      groupMessageId(APP, "g", "t", 5),
    );
    expect(provider.lookup(APP, { msgKey: "1_2_3", from: "a" })?.id).toBeUndefined();
  });

  it("narrows a partial C2C key by its sender and the send time its MsgKey ends in", () => {
    const lookup = provider.lookup(APP, { msgKey: "48374_2837546_1557481126", from: "a" });
    expect(lookup?.sender).toBe("a");
    const [from, to] = lookup?.sentBetween ?? [];
    expect(Date.parse(from ?? "")).toBeLessThan(1557481126000);
    expect(Date.parse(to ?? "")).toBeGreaterThan(1557481126000);
    // A key without a time (UNCONFIRMED format): no time hint, the sender alone narrows it.
    expect(provider.lookup(APP, { msgKey: "opaque" })?.sentBetween).toBeUndefined();
  });

  it("refuses an incomplete group key", () => {
    expect(() => provider.lookup(APP, { groupId: "g" })).toThrow(BadRequestError);
    expect(() => provider.lookup(APP, { groupId: "g", msgSeq: "five" })).toThrow(BadRequestError);
  });
});
