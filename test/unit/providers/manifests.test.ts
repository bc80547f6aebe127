import { describe, expect, it } from "vitest";
import { ConfigError, describeConfig, loadConfig } from "../../../functions/config.ts";
import type { Content } from "../../../functions/core/model.ts";
import { editingFor } from "../../../functions/providers/editing.ts";
import { EDITOR_PROVIDERS } from "../../../functions/providers/editor-providers.ts";
import { checkManifests } from "../../../functions/providers/manifest.ts";
import { netease } from "../../../functions/providers/netease/manifest.ts";
import { PROVIDERS } from "../../../functions/providers/recorder-providers.ts";
import { replaceText } from "../../../functions/providers/tencent/editor.ts";
import { tencent } from "../../../functions/providers/tencent/manifest.ts";
import { withSecrets } from "../../../functions/secrets.ts";
import { createFakeProvider, FAKE } from "../../helpers/fake-provider/manifest.ts";

const BASE = { TABLE_NAME: "t", TENCENT_SDKAPPID: "1400000000" };

describe("provider manifests", () => {
  it("the two bundles register the same providers, with distinct names and id prefixes", () => {
    expect(EDITOR_PROVIDERS.map((m) => m.name)).toEqual(PROVIDERS.map((m) => m.name));
    expect(() => checkManifests([tencent, tencent])).toThrow(/registered twice/);
  });

  it("content codecs: Tencent text elements and CloudCustomData, Yunxin text and extension", () => {
    const content: Content = {
      MsgBody: [
        { MsgType: "TIMTextElem", MsgContent: { Text: "a" } },
        { MsgType: "TIMFaceElem", MsgContent: { Index: 1, Data: "x" } },
        { MsgType: "TIMTextElem", MsgContent: { Text: "b" } },
      ],
      CloudCustomData: '{"k":1}',
    };
    expect(tencent.codec.text(content)).toBe("ab");
    // withText does what an edit `{ "text" }` does.
    expect(tencent.codec.withText(content, "c").MsgBody).toEqual(
      replaceText(content.MsgBody as Parameters<typeof replaceText>[0], "c"),
    );
    expect(tencent.codec.customData(content)).toEqual({ k: 1 });
    expect(tencent.codec.withCustomData(content, { k: 2 }).CloudCustomData).toBe('{"k":2}');
    expect(tencent.codec.customData({ CloudCustomData: "plain" })).toBeUndefined();
    expect(netease.codec.text({ text: "hi" })).toBe("hi");
    expect(netease.codec.customData(netease.codec.withCustomData({ text: "hi" }, { a: [1] }))).toEqual({
      a: [1],
    });
    expect(netease.codec.withCustomData({ text: "hi", extension: "{}" }, undefined)).toEqual({ text: "hi" });
  });

  it("an extra manifest brings its own env, secrets (fail closed) and rate rule", async () => {
    const { manifest } = createFakeProvider();
    const manifests = [...PROVIDERS, manifest];

    const config = loadConfig(
      { ...BASE, FAKE_APP_ID: "app", FAKE_SECRET: "s", FAKE_RATE_LIMIT: "7" },
      manifests,
    );
    expect(config.providers.get(FAKE)?.settings).toEqual({ appId: "app", secret: "s", rateLimit: 7 });
    expect(editingFor([...EDITOR_PROVIDERS, manifest]).rateRule(config)("fake:app:modify")).toEqual({
      limit: 7,
      windowMs: 1000,
    });
    expect(describeConfig(config).fake).toEqual({ appId: "app", secret: "set" });

    // Whitespace locally fails at start, naming the variable; a blank secret from its ARN refuses.
    expect(() => loadConfig({ ...BASE, FAKE_APP_ID: "app", FAKE_SECRET: "  " }, manifests)).toThrow(
      ConfigError,
    );
    const blank = loadConfig(
      { ...BASE, FAKE_APP_ID: "app", FAKE_SECRET_SECRET_ARN: "arn:x", FAKE_SECRET: "" },
      manifests,
    );
    expect(blank.providers.has(FAKE)).toBe(false);
    expect(blank.unusableSecrets).toEqual([
      {
        variable: "FAKE_SECRET",
        provider: FAKE,
        appId: "app",
        refuses: ["callbacks", "edits"],
        reason: "blank",
      },
    ]);
    // Its secret comes from Secrets Manager like the built-in ones.
    const env = await withSecrets({ FAKE_SECRET_SECRET_ARN: "arn:f" }, async (arn) => `v-${arn}`, manifests);
    expect(env.FAKE_SECRET).toBe("v-arn:f");
  });
});
