import type { EditorManifest } from "../manifest.ts";
import { NeteaseEditBody } from "./edit-body.ts";
import { createNeteaseEditor } from "./editor.ts";
import { type NeteaseEnv, type NeteaseSettings, netease } from "./manifest.ts";
import { NeteaseRestClient } from "./rest.ts";

/** The editor bundle's Yunxin: the manifest plus its editor (the modifyMsg REST client). */
export const neteaseEditing: EditorManifest<typeof NeteaseEnv, NeteaseSettings> = {
  ...netease,
  editBody: NeteaseEditBody,
  createEditor: (settings, limiter) => {
    const rest = new NeteaseRestClient({
      baseUrl: settings.edit.baseUrl,
      appKey: settings.appKey,
      appSecret: settings.appSecret,
      limiter,
    });
    return createNeteaseEditor({
      appKey: settings.appKey,
      rest,
      routeEnabled: settings.edit.routeEnabled,
      maxAgeMs: settings.edit.maxAgeMs,
      ...(settings.edit.operator !== undefined ? { operator: settings.edit.operator } : {}),
    });
  },
};
