import type { Content } from "../../functions/core/model.ts";
import type { ProviderEditor } from "../../functions/core/provider.ts";

/**
 * A Tencent-shaped provider editor whose modify and read-back do what each test scripts (the edit
 * protocol, not a provider, is under test). `modifies` lists what was sent.
 */
export function scriptedEditor(
  script: { modify?: (send: Content) => Promise<void>; readBack?: () => Promise<Content | undefined> } = {},
): ProviderEditor & { modifies: Content[] } {
  const modifies: Content[] = [];
  return {
    modifies,
    name: "tencent",
    appId: "1400000000",
    parseChange: (body) => body as Record<string, unknown>,
    plan: (head, change) => ({ content: { ...(head.content ?? {}), ...change }, send: change }),
    planRestore: (_head, target) => ({ content: target, send: target }),
    notRestorable: () => undefined,
    checkEditable: () => {},
    modify: async (_head, send) => {
      modifies.push(send);
      await script.modify?.(send);
      return {};
    },
    readBack: async () => (script.readBack ? script.readBack() : undefined),
  };
}
