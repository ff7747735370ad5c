import { type Clock } from "../../../clock.js";

export interface PurgeExpiredOptions {
  /** The most rows one run deletes (the rest wait for the next run). */
  readonly maxRows: number;
}

/**
 * Which project made each stored Response. The upstream keeps stored Responses under the endpoint's
 * one credential, so a `resp_...` id alone would let any project continue any other's history:
 * Palisade records the project that made one, and a continuation (`previous_response_id`) passes only
 * for that project. Only ids are kept: never content. A record expires `retention` after it was made
 * (the provider deletes the Response by then): an expired record is absent, and purged.
 */
export interface StoredResponseOwners {
  /** Records `projectId` as the maker of the stored Response `responseId`; the first record stands (a repeat changes nothing). */
  record(responseId: string, projectId: string): Promise<void>;
  /** The project that made `responseId`; null when Palisade has no record of it, or the record expired. */
  ownerOf(responseId: string): Promise<string | null>;
  /** Deletes expired records, at most `maxRows`; resolves how many it deleted. */
  purgeExpired(options: PurgeExpiredOptions): Promise<number>;
}

export interface StoredResponseOwnersOptions {
  readonly clock: Clock;
  readonly retentionInMs: number;
}

/**
 * Owners kept per instance (oldest out): for one instance and tests; the app uses Table Storage.
 * Without options, records never expire (they still leave past the capacity).
 */
export class InMemoryStoredResponseOwners implements StoredResponseOwners {
  readonly #owners = new Map<string, { readonly projectId: string; readonly recordedAtInMs: number }>();

  constructor(
    private readonly options: StoredResponseOwnersOptions | null = null,
    private readonly capacity = 100_000,
  ) {}

  record(responseId: string, projectId: string): Promise<void> {
    if (this.#owners.has(responseId)) return Promise.resolve();
    this.#owners.set(responseId, { projectId, recordedAtInMs: this.options?.clock.nowInMs() ?? 0 });
    if (this.#owners.size > this.capacity) {
      const oldest = this.#owners.keys().next();
      if (oldest.done !== true) this.#owners.delete(oldest.value);
    }
    return Promise.resolve();
  }

  ownerOf(responseId: string): Promise<string | null> {
    const owner = this.#owners.get(responseId);
    return Promise.resolve(owner && !this.#expired(owner.recordedAtInMs) ? owner.projectId : null);
  }

  purgeExpired({ maxRows }: PurgeExpiredOptions): Promise<number> {
    let deleted = 0;
    for (const [responseId, owner] of this.#owners) {
      if (deleted >= maxRows) break;
      if (!this.#expired(owner.recordedAtInMs)) continue;
      this.#owners.delete(responseId);
      deleted += 1;
    }
    return Promise.resolve(deleted);
  }

  #expired(recordedAtInMs: number): boolean {
    return this.options !== null && recordedAtInMs + this.options.retentionInMs <= this.options.clock.nowInMs();
  }
}
