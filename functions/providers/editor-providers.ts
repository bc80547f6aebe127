import { checkManifests, type EditorManifest } from "./manifest.ts";
import { neteaseEditing } from "./netease/editor-manifest.ts";
import { tencentEditing } from "./tencent/editor-manifest.ts";

/** The providers of the editor's bundle, with their editors: one line per provider (as recorder-providers.ts). */
export const EDITOR_PROVIDERS: readonly EditorManifest[] = checkManifests([tencentEditing, neteaseEditing]);
