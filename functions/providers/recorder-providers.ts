import { checkManifests } from "./manifest.ts";
import { netease } from "./netease/manifest.ts";
import { tencent } from "./tencent/manifest.ts";

/**
 * The providers of the recorder's bundle, and of config, secrets and the CDK stack: one line per
 * provider. The editor's bundle lists the same providers with their editors (editor-providers.ts).
 */
export const PROVIDERS = checkManifests([tencent, netease]);
