import type { EditorManifest } from "../manifest.ts";
import { createTencentEditor, TencentEditBody } from "./editor.ts";
import { type TencentEnv, type TencentSettings, tencent } from "./manifest.ts";
import { TencentRestClient } from "./rest.ts";
import { UserSigCache } from "./usersig.ts";

/** The editor bundle's Tencent: the manifest plus its editor (REST client, UserSig). */
export const tencentEditing: EditorManifest<typeof TencentEnv, TencentSettings> = {
  ...tencent,
  editBody: TencentEditBody,
  createEditor: (settings, limiter) => {
    const edit = settings.edit;
    if (!edit) return undefined;
    const rest = new TencentRestClient({
      baseUrl: edit.baseUrl,
      sdkAppId: settings.sdkAppId,
      identifier: edit.adminIdentifier,
      userSig: new UserSigCache(settings.sdkAppId, edit.secretKey, edit.adminIdentifier),
      limiter,
    });
    return createTencentEditor({ sdkAppId: settings.sdkAppId, rest });
  },
};
