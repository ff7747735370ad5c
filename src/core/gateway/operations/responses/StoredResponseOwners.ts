import { type Clock } from "../../../clock.js";

export interface PurgeExpiredOptions {
  /** The most rows one run deletes (the rest wait for the next run). */
  readonly maxRows: number;
}

/**
 * Which project made each stored Response, and where it is kept. The upstream keeps stored Responses
 * under the endpoint's one credential, so a `resp_...` id alone would let any project continue (or
 * read back) any other's: Palisade records the project that made one, and a continuation
 * (`previous_response_id`) or a read (`GET /responses/{id}`) passes only for that project. Only ids
 * and names are kept: never content. A record expires `retention` after it was made (the provider
 * deletes the Response by then): an expired record is absent, and purged.
 */
export interface StoredResponseOwner {
  readonly projectId: string;
  /** The project's model it was made with (a read is authorised for that model); absent in records made before it was kept. */
  readonly model?: string;
  /** The endpoint that keeps it (a read goes there and nowhere else); absent in records made before it was kept. */
  readonly endpointId?: string;
}

export interface StoredResponseOwners {
  /** Records the maker of the stored Response `responseId`; the first record stands (a repeat changes nothing). */
  record(responseId: string, owner: StoredResponseOwner): Promise<void>;
  /** The maker of `responseId`; null when Palisade has no record of it, or the record expired. */
  ownerOf(responseId: string): Promise<StoredResponseOwner | null>;
  /** Forgets `responseId` (once the upstream deleted it); succeeds if there is no record. */
  forget(responseId: string): Promise<void>;
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
  readonly #owners = new Map<string, { readonly owner: StoredResponseOwner; readonly recordedAtInMs: number }>();

  constructor(
    private readonly options: StoredResponseOwnersOptions | null = null,
    private readonly capacity = 100_000,
  ) {}

  record(responseId: string, owner: StoredResponseOwner): Promise<void> {
    if (this.#owners.has(responseId)) return Promise.resolve();
    this.#owners.set(responseId, { owner: { ...owner }, recordedAtInMs: this.options?.clock.nowInMs() ?? 0 });
    if (this.#owners.size > this.capacity) {
      const oldest = this.#owners.keys().next();
      if (oldest.done !== true) this.#owners.delete(oldest.value);
    }
    return Promise.resolve();
  }

  ownerOf(responseId: string): Promise<StoredResponseOwner | null> {
    const kept = this.#owners.get(responseId);
    return Promise.resolve(kept === undefined || this.#expired(kept.recordedAtInMs) ? null : { ...kept.owner });
  }

  forget(responseId: string): Promise<void> {
    this.#owners.delete(responseId);
    return Promise.resolve();
  }

  purgeExpired({ maxRows }: PurgeExpiredOptions): Promise<number> {
    let deleted = 0;
    for (const [responseId, kept] of this.#owners) {
      if (deleted >= maxRows) break;
      if (!this.#expired(kept.recordedAtInMs)) continue;
      this.#owners.delete(responseId);
      deleted += 1;
    }
    return Promise.resolve(deleted);
  }

  #expired(recordedAtInMs: number): boolean {
    return this.options !== null && recordedAtInMs + this.options.retentionInMs <= this.options.clock.nowInMs();
  }
}
