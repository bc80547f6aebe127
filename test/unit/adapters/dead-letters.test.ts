import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DirectoryDeadLetters } from "../../../functions/adapters/dead-letters/directory.ts";
import { SqsDeadLetters } from "../../../functions/adapters/dead-letters/sqs.ts";
import { SqliteStore } from "../../../functions/adapters/sqlite/store.ts";
import { createDependencies } from "../../../functions/clients.ts";
import { loadConfig } from "../../../functions/config.ts";
import { type DeadLetterReason, MAX_REASON_LENGTH } from "../../../functions/core/dead-letters.ts";
import { type FakeSqs, startFakeSqs } from "../../helpers/fake-sqs.ts";

const DLQ_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/im-edit-EditQueueDeadLetters";
const SOURCE = "arn:aws:sqs:us-east-1:123456789012:im-edit-EditQueue";
const BODY = JSON.stringify({ action: "edit", target: { id: "c2c_x" }, body: { text: "private words" } });
const REASON: DeadLetterReason = {
  code: "not_editable",
  message: "message c2c_x cannot be edited: recalled",
  status: 409,
  receiveCount: 1,
  source: SOURCE,
};

describe("SqsDeadLetters against a loopback SQS (JSON protocol)", () => {
  let fake: FakeSqs;
  let client: SQSClient;
  beforeAll(async () => {
    fake = await startFakeSqs();
    client = new SQSClient({ region: "us-east-1", endpoint: fake.url, maxAttempts: 1 });
  });
  afterEach(() => {
    fake.messages.length = 0;
    fake.failWith = undefined;
  });
  afterAll(async () => {
    client.destroy();
    await fake.close();
  });

  it("sends the original body unchanged to the DLQ, the reason as message attributes", async () => {
    // Act
    await new SqsDeadLetters(client, DLQ_URL).put(BODY, REASON);

    // Assess
    expect(fake.messages).toEqual([
      {
        QueueUrl: DLQ_URL,
        MessageBody: BODY,
        MessageAttributes: {
          "reason-code": { DataType: "String", StringValue: "not_editable" },
          reason: { DataType: "String", StringValue: "message c2c_x cannot be edited: recalled" },
          status: { DataType: "Number", StringValue: "409" },
          "receive-count": { DataType: "Number", StringValue: "1" },
          "source-queue": { DataType: "String", StringValue: SOURCE },
        },
      },
    ]);
    // The reason travels beside the message, never the message's words.
    expect(JSON.stringify(fake.messages[0]?.MessageAttributes)).not.toContain("private words");
  });

  it("leaves out what is unknown and never sends an empty attribute; a long message is cut", async () => {
    // Act
    await new SqsDeadLetters(client, DLQ_URL).put("{not json", {
      code: "",
      message: "x".repeat(5_000),
      source: "",
    });

    // Assess
    const attributes = fake.messages[0]?.MessageAttributes ?? {};
    expect(Object.keys(attributes).sort()).toEqual(["reason", "reason-code", "source-queue"]);
    expect(attributes["reason-code"]?.StringValue).toBe("unknown");
    expect(attributes.reason?.StringValue).toHaveLength(MAX_REASON_LENGTH);
    expect(fake.messages[0]?.MessageBody).toBe("{not json");
  });

  it("a URL quoted in the reason loses its query string (Tencent's carries the admin UserSig)", async () => {
    // Act
    await new SqsDeadLetters(client, DLQ_URL).put(BODY, {
      ...REASON,
      message:
        "TypeError: fetch failed: https://console.tim.qq.com/v4/openim/modify_c2c_msg?usersig=eJw.secret&identifier=admin",
    });

    // Assess
    expect(fake.messages[0]?.MessageAttributes?.reason?.StringValue).toBe(
      "TypeError: fetch failed: https://console.tim.qq.com/v4/openim/modify_c2c_msg?…",
    );
  });

  it("a refused send rejects (the consumer then leaves the message on its queue)", async () => {
    fake.failWith = "AWS.SimpleQueueService.NonExistentQueue";
    await expect(new SqsDeadLetters(client, DLQ_URL).put(BODY, REASON)).rejects.toThrow();
  });

  it("wired from EDIT_DLQ_URL and FALLBACK_DLQ_URL (SDK loaded on the first letter), with the max receives", async () => {
    // Prepare: the SDK sends to the host of the queue URL, so the DLQ URLs name the fake.
    const editDlq = `${fake.url}/123456789012/edit-dlq`;
    const fallbackDlq = `${fake.url}/123456789012/fallback-dlq`;
    const store = new SqliteStore({ path: ":memory:" });
    try {
      const { deadLetters } = createDependencies(
        loadConfig({
          TABLE_NAME: "t",
          AWS_REGION: "us-east-1",
          TENCENT_SDKAPPID: "1400000000",
          EDIT_DLQ_URL: editDlq,
          EDIT_QUEUE_MAX_RECEIVES: "7",
          FALLBACK_DLQ_URL: fallbackDlq,
        }),
        { store },
      );

      // Act
      await deadLetters.edit.letters?.put(BODY, REASON);
      await deadLetters.fallback.letters?.put("{}", { ...REASON, code: "not_a_spooled_callback" });

      // Assess
      expect(deadLetters.edit.maxReceives).toBe(7);
      expect(deadLetters.fallback.maxReceives).toBe(5);
      expect(
        fake.messages.map((m) => [m.QueueUrl, m.MessageAttributes?.["reason-code"]?.StringValue]),
      ).toEqual([
        [editDlq, "not_editable"],
        [fallbackDlq, "not_a_spooled_callback"],
      ]);
    } finally {
      store.close();
    }
  });

  it("without a DLQ URL or DATA_DIR: no letters (a consumer leaves failures to the queue's redrive policy)", () => {
    const store = new SqliteStore({ path: ":memory:" });
    const { deadLetters } = createDependencies(
      loadConfig({ TABLE_NAME: "t", AWS_REGION: "us-east-1", TENCENT_SDKAPPID: "1400000000" }),
      { store },
    );
    store.close();
    expect(deadLetters.edit.letters).toBeUndefined();
    expect(deadLetters.fallback.letters).toBeUndefined();
  });
});

describe("DirectoryDeadLetters (DATA_DIR/dead-letters)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "im-edit-dead-letters-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("one JSON file { body, reason, at } per letter, listed oldest first, removed by name", async () => {
    // Prepare
    let now = Date.parse("2026-03-01T10:00:00.000Z");
    const letters = new DirectoryDeadLetters(join(dir, "a"), () => new Date(now));

    // Act
    await letters.put(BODY, REASON);
    now += 1_000;
    await letters.put("{not json", {
      code: "not_json",
      message: "the message body is not JSON",
      source: "q",
    });
    const listed = await letters.list();

    // Assess
    expect(listed.unreadable).toEqual([]);
    expect(listed.letters.map(({ body, reason, at }) => ({ body, reason, at }))).toEqual([
      { body: BODY, reason: REASON, at: "2026-03-01T10:00:00.000Z" },
      {
        body: "{not json",
        reason: { code: "not_json", message: "the message body is not JSON", source: "q" },
        at: "2026-03-01T10:00:01.000Z",
      },
    ]);
    const files = (await readdir(join(dir, "a"))).sort();
    expect(files).toEqual(listed.letters.map((letter) => letter.name));
    expect(JSON.parse(await readFile(join(dir, "a", files[0] ?? ""), "utf8"))).toEqual({
      body: BODY,
      reason: REASON,
      at: "2026-03-01T10:00:00.000Z",
    });
    await letters.remove(files[0] ?? "");
    await letters.remove(files[0] ?? ""); // already gone: no error
    expect((await letters.list()).letters.map((letter) => letter.body)).toEqual(["{not json"]);
    await expect(letters.remove("../escape.json")).rejects.toThrow(/not a dead letter/);
  });

  it("a missing directory lists nothing; a file that is no letter is named, not fatal", async () => {
    expect(await new DirectoryDeadLetters(join(dir, "none")).list()).toEqual({ letters: [], unreadable: [] });
    const letters = new DirectoryDeadLetters(join(dir, "b"));
    await letters.put(BODY, REASON);
    await writeFile(join(dir, "b", "999999999999999-stray.json"), "{oops");
    const listed = await letters.list();
    expect(listed.letters).toHaveLength(1);
    expect(listed.unreadable).toEqual(["999999999999999-stray.json"]);
  });
});
