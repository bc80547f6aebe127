import { config } from "zod/mini";
import en from "zod/v4/locales/en.js";

/**
 * The functions' zod: the functional `zod/mini` build (a third of the full API's cold cost in the bundles,
 * `npm run bench -- bundle`), with the English messages the full build installs by itself. Without them
 * every issue reads "Invalid input"; with them a 400 names the field and says what was wrong, as before.
 * Import it as `import * as z from "<path>/zod.ts"`, never `zod/mini` directly, so the locale is in place
 * whichever module parses first.
 */
config(en());

export * from "zod/mini";
