import { ListingDisabledError } from "./errors.ts";

/**
 * The optional listings (issue 14): each is an index the store keeps up on every recorded message (one
 * WRU each on DynamoDB), so a deployment that never asks for one can turn it off and pay less. Whole
 * natural keys and ids never need one (the id is derived from the key).
 *
 * - `conversation`: one conversation, newest first (`GET /v1/messages?conversation=…`, a sender filter in it),
 *   and bulk jobs whose selector names a conversation.
 * - `app`: the whole app, one sender without a conversation, partial natural keys (found by send time),
 *   and bulk jobs whose selector names no conversation.
 *
 * The setting is `LISTINGS` for the functions and `-c listings` for the stack: a comma list of the names,
 * or `none`; the default is every listing.
 */
export const LISTING_NAMES = ["conversation", "app"] as const;
export type Listing = (typeof LISTING_NAMES)[number];
export type Listings = ReadonlySet<Listing>;

export const ALL_LISTINGS: Listings = new Set(LISTING_NAMES);
/** What the setting takes, for the messages that refuse a bad value. */
export const LISTINGS_HINT = `a comma list of ${LISTING_NAMES.join(" and ")}, or none`;

/** The setting's value as a set; undefined when it is not one (an unknown name, an empty item, none with others). */
export function parseListings(value: string): Listings | undefined {
  const names = value.split(",").map((name) => name.trim());
  if (names.length === 1 && names[0] === "none") return new Set();
  const known = new Set<string>(LISTING_NAMES);
  if (names.some((name) => !known.has(name))) return undefined;
  return new Set(names as Listing[]);
}

/** The setting's value for a set, in one order (`conversation,app`, `conversation`, `none`). */
export function listingsValue(listings: Listings): string {
  const names = LISTING_NAMES.filter((name) => listings.has(name));
  return names.length === 0 ? "none" : names.join(",");
}

/**
 * Refuses a list query (or a bulk job's selector) whose listing is off: the conversation's own when it names
 * one, else the app's. `needs` says what asked, per listing.
 */
export function requireListingFor(
  listings: Listings,
  query: { readonly conversation?: string | undefined },
  needs: Readonly<Record<Listing, string>>,
): void {
  const listing: Listing = query.conversation !== undefined ? "conversation" : "app";
  requireListing(listings, listing, needs[listing]);
}

/**
 * Refuses, before any store call, work that needs a listing this deployment does not keep. `needs` says
 * what asked for it ("listing a whole app or one sender"); `otherwise` what still works without it.
 */
export function requireListing(listings: Listings, listing: Listing, needs: string, otherwise = ""): void {
  if (listings.has(listing)) return;
  const on = listingsValue(new Set([...listings, listing]));
  throw new ListingDisabledError(
    `${needs} needs the ${listing} listing, which is off (LISTINGS=${listingsValue(listings)}). ` +
      `Turn it on with -c listings=${on} in AWS (then npm run reindex for the messages recorded before) ` +
      `or LISTINGS=${on} locally.${otherwise === "" ? "" : ` ${otherwise}`}`,
    { details: { listing, listings: listingsValue(listings) } },
  );
}
