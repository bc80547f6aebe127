import { describe, expect, it } from "vitest";
import { BadRequestError, ForbiddenError, UnauthorizedError } from "../../../../functions/core/errors.ts";
import type { RecorderEvent } from "../../../../functions/core/recorder-events.ts";
import { neteaseId } from "../../../../functions/providers/netease/identity.ts";
import { md5Hex, verifyNeteaseCopy } from "../../../../functions/providers/netease/verify.ts";
import { thrown } from "../../../helpers/errors.ts";
import { fixture, fixtureBytes } from "../../../helpers/fixtures.ts";
import { APP_KEY, APP_SECRET, copyHeaders, copyRequest, neteaseProvider } from "../../../helpers/netease.ts";

const provider = neteaseProvider();
const interpret = (body: unknown) => provider.interpret(copyRequest(body));
const auth = { appKey: APP_KEY, appSecret: APP_SECRET, maxSkewMs: 600_000 };

function messageOf(event: RecorderEvent | undefined) {
  if (!event || !("message" in event) || !event.message) throw new Error("event carries no message");
  return event.message;
}

describe("Yunxin message copy verification", () => {
  it("matches the public MD5 test vector over the exact body bytes", () => {
    expect(md5Hex(fixtureBytes("netease", "copy-md5-vector.body.txt"))).toBe(
      "d4262973f27df1e4a6438493a20360f4",
    );
  });

  it("accepts a correctly signed, fresh copy (CurTime in milliseconds)", () => {
    const body = fixtureBytes("netease", "copy-md5-vector.body.txt");
    const now = Date.now();
    expect(() => verifyNeteaseCopy(copyHeaders(body, now), body, auth, new Date(now + 5_000))).not.toThrow();
  });

  it.each([
    ["a body that does not match MD5", (h: Record<string, string>) => h, Buffer.from("{}")],
    ["a wrong CheckSum", (h: Record<string, string>) => ({ ...h, checksum: "0".repeat(40) }), undefined],
    [
      "a CheckSum made with another secret",
      (h: Record<string, string>, b: Buffer) => copyHeaders(b, Number(h.curtime), "other"),
      undefined,
    ],
    ["a missing MD5", ({ md5: _, ...h }: Record<string, string>) => h, undefined],
    [
      "CurTime in seconds",
      (h: Record<string, string>) => ({ ...h, curtime: String(Math.floor(Number(h.curtime) / 1000)) }),
      undefined,
    ],
  ])("refuses %s with 401", (_, mutate, otherBody) => {
    const body = fixtureBytes("netease", "copy-md5-vector.body.txt");
    const headers = (mutate as (h: Record<string, string>, b: Buffer) => Record<string, string>)(
      copyHeaders(body),
      body,
    );
    expect(() => verifyNeteaseCopy(headers, otherBody ?? body, auth, new Date())).toThrow(UnauthorizedError);
  });

  it("refuses a stale copy and a foreign AppKey", () => {
    const body = Buffer.from("{}");
    const then = Date.now() - 11 * 60_000;
    expect(() => verifyNeteaseCopy(copyHeaders(body, then), body, auth, new Date())).toThrow(/window/);
    expect(() =>
      verifyNeteaseCopy({ ...copyHeaders(body), appkey: "other" }, body, auth, new Date()),
    ).toThrow(ForbiddenError);
  });
});

describe("Yunxin message copy interpretation", () => {
  it("records a P2P text copy with everything modifyMsg needs, the id as an exact string", () => {
    const [event] = interpret(fixture("netease", "copy-p2p-text"));
    expect(event?.type).toBe("observed");
    expect(messageOf(event)).toMatchObject({
      provider: "netease",
      appId: APP_KEY,
      kind: "p2p",
      sender: "111",
      key: {
        msgId: "3456789",
        from: "111",
        to: "222",
        type: "1",
        messageType: "0",
        time: "1441977355557",
        convType: "PERSON",
      },
      conversation: "p2p:111:222",
      sentAt: new Date(1441977355557).toISOString(),
    });
    expect(event?.type === "observed" && event.content).toEqual({
      text: "hello",
      attachmentRaw: "thisisattach",
    });
  });

  it("keeps ids above 2^53 exact, even when sent as a JSON number", () => {
    const text =
      '{"eventType":"1","convType":"TEAM","to":"1001","fromAccount":"a","msgTimestamp":"1700000000000","msgType":"TEXT","msgidServer":158844553334358021,"body":"x"}';
    const [event] = interpret(text);
    expect(messageOf(event).key.msgId).toBe("158844553334358021");
    const [team] = interpret(fixture("netease", "synthetic-copy-team-picture"));
    expect(messageOf(team)).toMatchObject({ kind: "team", key: { type: "2", messageType: "1" } });
    expect(BigInt(messageOf(team).key.msgId ?? "0")).toBeGreaterThan(2n ** 53n);
  });

  it("parses attach into an object when it is JSON", () => {
    const [event] = interpret(fixture("netease", "synthetic-copy-team-picture"));
    expect(event?.type === "observed" && event.content.attachment).toMatchObject({ url: expect.any(String) });
  });

  it("records super team custom messages as editable, notifications and CUSTOM_* as not", () => {
    const [custom] = interpret(fixture("netease", "synthetic-copy-superteam-custom"));
    expect(messageOf(custom)).toMatchObject({ kind: "superteam", key: { type: "3", messageType: "100" } });
    expect(messageOf(custom).notEditable).toBeUndefined();
    expect(messageOf(interpret(fixture("netease", "synthetic-copy-notification"))[0]).notEditable).toMatch(
      /NOTIFICATION/,
    );
    expect(messageOf(interpret(fixture("netease", "synthetic-copy-custom-person"))[0]).notEditable).toMatch(
      /CUSTOM_PERSON/,
    );
  });

  it("maps recalls in both payload readings to the message id", () => {
    const [p2p] = interpret(fixture("netease", "synthetic-recall-p2p"));
    const [team] = interpret(fixture("netease", "synthetic-recall-team-alt"));
    expect(p2p).toMatchObject({ type: "recalled", id: expect.stringMatching(/^nim_/) });
    expect(team).toMatchObject({ type: "recalled", id: expect.stringMatching(/^nim_/) });
  });

  it("acknowledges other event types without recording them", () => {
    expect(interpret(fixture("netease", "synthetic-copy-login"))).toEqual([]);
  });

  it("refuses malformed copies with 400", () => {
    expect(() => interpret("{nope")).toThrow(BadRequestError);
    expect(() => interpret({ eventType: "1", convType: "PERSON" })).toThrow(BadRequestError);
    expect(() => interpret({ ...fixture("netease", "copy-p2p-text"), msgidServer: "12ab" })).toThrow(
      BadRequestError,
    );
  });

  it("looks messages up by msgId only as digits", () => {
    expect(provider.lookup("k", { msgId: "158844553334358020" })).toMatchObject({
      id: neteaseId("k", "158844553334358020"),
      lookupKey: "msg|158844553334358020",
    });
    expect(() => provider.lookup("k", { msgId: "1e5" })).toThrow(BadRequestError);
    expect(provider.lookup("k", {})).toBeUndefined();
  });
});

describe("Yunxin copies: hostile input is a 400, never a 500 or a malformed record", () => {
  const copy = fixture("netease", "copy-p2p-text");
  const refused = (body: unknown) => thrown(() => interpret(body));

  it.each(["constructor", "__proto__", "toString", "hasOwnProperty"])(
    "ignores convType %s like any unknown conversation type (never a record without a kind)",
    (convType) => {
      expect(interpret({ ...copy, convType })).toEqual([]);
    },
  );

  it.each(["constructor", "toString", "valueOf"])(
    "records msgType %s as a kind Yunxin cannot edit, with no inherited message_type",
    (msgType) => {
      const message = messageOf(interpret({ ...copy, msgType })[0]);
      expect(message.key.messageType).toBeUndefined();
      expect(message.notEditable).toMatch(msgType);
    },
  );

  it.each(["99999999999999999999", "8640000000000001", "4294967296000"])(
    "refuses msgTimestamp %s (beyond what Date and Yunxin hold) with 400, not a RangeError",
    (msgTimestamp) => {
      expect(refused({ ...copy, msgTimestamp })).toBeInstanceOf(BadRequestError);
    },
  );

  it("refuses a lone UTF-16 surrogate in an account with 400, not a URIError", () => {
    expect(refused({ ...copy, fromAccount: "\ud800" })).toBeInstanceOf(BadRequestError);
    expect(refused({ ...copy, to: "a\udfffb" })).toBeInstanceOf(BadRequestError);
  });

  it("refuses an eventType no string can describe with 400, not a TypeError while logging it", () => {
    const eventType = { constructor: "x", toString: 1 };
    expect(refused({ ...copy, eventType })).toBeInstanceOf(BadRequestError);
  });

  it("keeps an attach whose numbers the store cannot hold exactly as its raw text, so the copy is stored", () => {
    const [event] = interpret(fixture("netease", "synthetic-copy-superteam-custom"));
    expect(event?.type === "observed" && event.content).toEqual({
      attachmentRaw: fixture("netease", "synthetic-copy-superteam-custom").attach,
      extension: '{"k":"v"}',
    });
  });

  it.each([
    ["a lone surrogate", '{"x":"\\ud800"}'],
    [
      "nesting deeper than the store holds",
      JSON.stringify({ a: JSON.parse(`${"[".repeat(40)}1${"]".repeat(40)}`) }),
    ],
    ["1e400", '{"x":1e400}'],
  ])("keeps an attach string holding %s as raw text", (_, attach) => {
    const [event] = interpret({ ...copy, attach });
    expect(event?.type === "observed" && event.content.attachmentRaw).toBe(attach);
  });
});

describe("Yunxin copies: liberal in what they acknowledge", () => {
  it.each([
    "synthetic-copy-team-notification-attach-object",
    "synthetic-copy-superteam-notification-attach-object",
  ])("accepts %s (attach as a JSON object, as in Yunxin's samples) and keeps the object", (name) => {
    const payload = fixture("netease", name);
    const [event] = interpret(payload);
    expect(event?.type === "observed" && event.content.attachment).toEqual(payload.attach);
    expect(messageOf(event).notEditable).toMatch(/NOTIFICATION/);
  });

  it("keeps an attach object the store cannot hold as its JSON text", () => {
    const attach = { orderId: 2 ** 60 };
    const [event] = interpret({ ...fixture("netease", "copy-p2p-text"), attach });
    expect(event?.type === "observed" && event.content.attachmentRaw).toBe(JSON.stringify(attach));
  });
});
