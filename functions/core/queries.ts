import { BadRequestError, ConflictError, NotFoundError } from "./errors.ts";
import { ALL_LISTINGS, type Listings, requireListing, requireListingFor } from "./listings.ts";
import { MESSAGE_ID_PATTERN, type MessageHead, type ProviderName, type Version } from "./model.ts";
import type { CallbackProvider, KeyLookup } from "./provider.ts";
import {
  InvalidPageTokenError,
  KeyQueryTooBroadError,
  type ListQuery,
  type MessageStore,
  type Page,
  type PageRequest,
} from "./store.ts";

/**
 * Read side: one message, a natural-key lookup, lists and version history. What needs a listing the
 * deployment does not keep (`listings`, LISTINGS) is refused before the store is asked.
 */
export class MessageQueries {
  constructor(
    private readonly store: MessageStore,
    private readonly providers: ReadonlyMap<ProviderName, CallbackProvider>,
    readonly listings: Listings = ALL_LISTINGS,
  ) {}

  /** A message by id; a provisional id that was completed answers with the completed message. */
  async get(id: string): Promise<MessageHead> {
    if (!MESSAGE_ID_PATTERN.test(id))
      throw new NotFoundError(`no message ${JSON.stringify(id.slice(0, 80))}`);
    const head = await this.store.getHead(id);
    if (head?.resolvedId !== undefined) return this.get(head.resolvedId);
    if (!head) throw new NotFoundError(`no message ${id}`);
    return head;
  }

  /**
   * Natural-key lookup when the parameters name a key (exactly one match, or 404, or 409 listing the
   * candidates); undefined when they do not, and the caller lists instead.
   */
  async lookup(
    provider: ProviderName,
    appId: string,
    params: Readonly<Record<string, string | undefined>>,
  ): Promise<MessageHead | undefined> {
    const lookup = this.provider(provider).lookup(appId, params);
    if (!lookup) return undefined;
    const candidates = (await this.candidates(provider, appId, lookup)).filter(lookup.matches);
    if (candidates.length === 0) throw new NotFoundError("no message has that key");
    if (candidates.length > 1) {
      throw new ConflictError("several messages match that key; add the missing key fields", {
        code: "ambiguous_key",
        details: { candidates: candidates.map((head) => ({ id: head.id, key: head.key })) },
      });
    }
    return candidates[0];
  }

  private async candidates(provider: ProviderName, appId: string, lookup: KeyLookup): Promise<MessageHead[]> {
    if (lookup.id !== undefined) {
      const head = await this.store.getHead(lookup.id);
      const shown = head?.resolvedId !== undefined ? await this.store.getHead(head.resolvedId) : head;
      return shown ? [shown] : [];
    }
    requireListing(
      this.listings,
      "app",
      "Finding a message by a partial natural key",
      "The whole natural key still works: add the missing key fields.",
    );
    try {
      return await this.store.findByKey({
        provider,
        appId,
        lookupKey: lookup.lookupKey,
        ...(lookup.sender !== undefined ? { sender: lookup.sender } : {}),
        ...(lookup.sentBetween !== undefined ? { sentBetween: lookup.sentBetween } : {}),
      });
    } catch (error: unknown) {
      if (error instanceof KeyQueryTooBroadError) {
        throw new BadRequestError("this partial key cannot be searched; add the missing key fields", {
          code: "key_too_broad",
        });
      }
      throw error;
    }
  }

  async list(query: ListQuery): Promise<Page<MessageHead>> {
    this.provider(query.provider);
    requireListingFor(this.listings, query, {
      conversation: "Listing a conversation",
      app: "Listing a whole app or one sender",
    });
    return pageTokenErrors(() => this.store.list(query));
  }

  async versions(id: string, page: PageRequest): Promise<Page<Version>> {
    const head = await this.get(id);
    return pageTokenErrors(() => this.store.listVersions(head.id, page));
  }

  private provider(name: ProviderName): CallbackProvider {
    const provider = this.providers.get(name);
    if (!provider)
      throw new BadRequestError(`provider ${name} is not configured`, { code: "provider_not_configured" });
    return provider;
  }
}

async function pageTokenErrors<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error: unknown) {
    if (error instanceof InvalidPageTokenError)
      throw new BadRequestError(error.message, { code: "invalid_next_token" });
    throw error;
  }
}
