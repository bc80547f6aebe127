import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LISTINGS_HINT, type Listings, parseListings } from "../functions/core/listings.ts";

/**
 * What the scripts that work on a DynamoDB table (`npm run migrate`, `npm run reindex`) share: their usage
 * errors (exit 2 with the usage), the region an AWS run needs, and the LISTINGS value they read.
 */

/** A wrong flag or setting: the script prints its usage and exits 2. */
export class UsageError extends Error {}

/** The region: `--region`, else AWS_REGION; an AWS run without one would reach a host that does not exist. */
export function regionOf(flag: string | undefined, env: NodeJS.ProcessEnv, aws: boolean): string {
  const region = flag ?? env.AWS_REGION;
  if (aws && region === undefined) throw new UsageError("an AWS table needs --region or AWS_REGION");
  return region ?? "local";
}

/**
 * A LISTINGS value as the scripts read it (the variable, or a flag): undefined when unset or empty (the
 * table's own indexes then say); a bad value throws naming where it came from.
 */
export function listingsSetting(value: string | undefined, source: string): Listings | undefined {
  if (value === undefined || value === "") return undefined;
  const listings = parseListings(value);
  if (listings === undefined)
    throw new UsageError(`${source}: must be ${LISTINGS_HINT}, not ${JSON.stringify(value)}`);
  return listings;
}

/** Runs `main` when `moduleUrl` is the script node was started with; failures exit 1, usage errors 2. */
export function runScript(moduleUrl: string, name: string, usage: string, main: () => Promise<void>): void {
  if (process.argv[1] === undefined || resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  main().catch((error: unknown) => {
    process.stderr.write(`im-edit ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    if (error instanceof UsageError) process.stderr.write(`\n${usage}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  });
}
