import { describe, expect, it } from "vitest";
import {
  appShard,
  compactFirst,
  expandFirst,
  headFromItem,
  headItem,
  indexAttributes,
  versionFromItem,
  versionItem,
} from "../../../functions/adapters/dynamodb/items.ts";
import {
  indexEntrySize,
  itemSize,
  storedBytes,
  writeUnits,
} from "../../../functions/adapters/dynamodb/size.ts";
import { TABLE } from "../../../functions/adapters/dynamodb/table.ts";
import { contentHash, type MessageHead, type Version } from "../../../functions/core/model.ts";
import { shortTextHead } from "../../helpers/dynamo-sample.ts";

describe("itemSize (DynamoDB's published rules)", () => {
  it("counts names and values: strings by UTF-8 bytes, numbers by significant digits", () => {
    expect(itemSize({ a: "abc" })).toBe(4);
    expect(itemSize({ é: "é" })).toBe(4);
    expect(itemSize({ n: 123 })).toBe(1 + 3);
    expect(itemSize({ n: 1000 })).toBe(1 + 2);
    expect(itemSize({ n: -1.5 })).toBe(1 + 3);
    expect(itemSize({ n: 1670574414123 })).toBe(1 + 8);
  });

  it("charges lists and maps 3 bytes plus 1 per element; null and booleans 1 byte", () => {
    expect(itemSize({ m: {} })).toBe(1 + 3);
    expect(itemSize({ m: { x: 1 } })).toBe(1 + 3 + 1 + 1 + 2);
    expect(itemSize({ l: [true, null] })).toBe(1 + 3 + 2 + 2);
  });
});

describe("the head item of a short text message (layout v2)", () => {
  const item = headItem(shortTextHead(), {});

  it("is under 1 KB with its index keys, and each index entry is under 1 KB: 3 write units", () => {
    expect(itemSize(item)).toBeLessThanOrEqual(1024);
    expect(indexEntrySize(item, "byConversation")).toBeLessThanOrEqual(1024);
    expect(indexEntrySize(item, "byApp")).toBeLessThanOrEqual(1024);
    expect(writeUnits(item)).toBe(3);
  });

  it("stores at most 2 KB with the index copies", () => {
    expect(storedBytes(item)).toBeLessThanOrEqual(2048);
  });

  it("stores no id and no copy of version 1's content while the head shows it", () => {
    expect(item).not.toHaveProperty("id");
    expect(item.first).toEqual({ source: "callback", eventKey: shortTextHead().first?.eventKey });
    expect(headFromItem(item)).toEqual(shortTextHead());
  });

  it("is in both indexes; a resolved provisional head in none; a pending head without a key in both", () => {
    const head = shortTextHead();
    for (const name of ["cv", "ts", "ap"]) expect(item).toHaveProperty(name);
    const resolved = headItem({ ...head, resolvedId: "grp_x" }, {});
    for (const name of ["cv", "ts", "ap"]) expect(resolved).not.toHaveProperty(name);
    const { lookupKey: _, first: __, content: ___, contentHash: ____, ...rest } = head;
    const pending = headItem({ ...rest, state: "pending", version: 0 }, {});
    for (const name of ["cv", "ts", "ap"]) expect(pending).toHaveProperty(name);
  });
});

describe("the head item with listings off (LISTINGS)", () => {
  const head = shortTextHead();

  it("carries only the kept listings' keys: the shared sort key while one is on, nothing with none", () => {
    expect(Object.keys(indexAttributes(head, new Set(["conversation"])))).toEqual(["cv", "ts"]);
    expect(Object.keys(indexAttributes(head, new Set(["app"])))).toEqual(["ts", "ap"]);
    const bare = headItem(head, {}, new Set());
    for (const name of ["cv", "ts", "ap"]) expect(bare).not.toHaveProperty(name);
    expect(headFromItem(bare)).toEqual(head);
  });

  it("costs one write unit per listing kept, and stores no index copy of a listing that is off", () => {
    const item = (listings: readonly ("conversation" | "app")[]) => headItem(head, {}, new Set(listings));
    expect(writeUnits(item(["conversation", "app"]))).toBe(3);
    expect(writeUnits(item(["conversation"]))).toBe(2);
    expect(writeUnits(item(["app"]))).toBe(2);
    expect(writeUnits(item([]))).toBe(1);
    expect(indexEntrySize(item(["conversation"]), "byApp")).toBeUndefined();
    expect(storedBytes(item([]))).toBe(itemSize(item([])) + 100);
  });
});

describe("version 1 in the head", () => {
  const head = shortTextHead();
  const first = head.first as Version;
  const other = { MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: "edited" } }] };

  const cases: [string, MessageHead, Version][] = [
    ["equal to the head", head, first],
    ["after an edit (other content)", { ...head, content: other, contentHash: contentHash(other) }, first],
    ["without an actor, the head with a sender", head, withoutField(first, "actor")],
    ["without eventAt, the head with one", head, withoutField(first, "eventAt")],
    ["with eventAt, the head without", withoutField(head, "eventAt"), first],
    ["sent at another time", head, { ...first, at: "2026-01-01T00:00:00.000Z" }],
    [
      "purged: same hash, no content",
      head,
      { ...first, content: {}, purged: { at: "x", by: "y", reason: "z" } },
    ],
    ["stale", head, { ...first, stale: true }],
  ];
  it.each(cases)("round-trips %s", (_, h, v) => {
    expect(expandFirst(compactFirst(v, h), h)).toEqual(v);
    expect(headFromItem(headItem({ ...h, first: v }, {})).first).toEqual(v);
  });
});

describe("version items", () => {
  it("keep the number in the sort key only", () => {
    const content = { CloudCustomData: "x" };
    const version: Version = {
      version: 7,
      content,
      contentHash: contentHash(content),
      source: "api",
      at: "t",
    };
    const item = versionItem("c2c_x", version, {});
    expect(item).not.toHaveProperty("version");
    expect(item[TABLE.sortKey]).toBe("V#0000000007");
    expect(versionFromItem(item)).toEqual(version);
  });
});

describe("appShard", () => {
  it("puts one sender's messages in one shard and spreads senders over all 16", () => {
    expect(appShard("alice")).toBe(appShard("alice"));
    const shards = new Set(Array.from({ length: 200 }, (_, n) => appShard(`user${n}`)));
    expect(shards.size).toBe(16);
  });
});

function withoutField<T extends object>(value: T, field: keyof T): T {
  const { [field]: _, ...rest } = value;
  return rest as T;
}
