/**
 * Which project made each stored Response, and where it is kept. The upstream keeps stored Responses
 * under the endpoint's one credential, so a `resp_...` id alone would let any project continue (or
 * read back) any other's: Palisade records the project that made one, and a continuation
 * (`previous_response_id`) or a read (`GET /responses/{id}`) passes only for that project. Only ids
 * and names are kept: never content.
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
  /** The maker of `responseId`; null when Palisade has no record of it. */
  ownerOf(responseId: string): Promise<StoredResponseOwner | null>;
  /** Forgets `responseId` (once the upstream deleted it); succeeds if there is no record. */
  forget(responseId: string): Promise<void>;
}

/** Owners kept per instance (oldest out): for one instance and tests; the app uses Table Storage. */
export class InMemoryStoredResponseOwners implements StoredResponseOwners {
  readonly #owners = new Map<string, StoredResponseOwner>();

  constructor(private readonly capacity = 100_000) {}

  record(responseId: string, owner: StoredResponseOwner): Promise<void> {
    if (this.#owners.has(responseId)) return Promise.resolve();
    this.#owners.set(responseId, { ...owner });
    if (this.#owners.size > this.capacity) {
      const oldest = this.#owners.keys().next();
      if (oldest.done !== true) this.#owners.delete(oldest.value);
    }
    return Promise.resolve();
  }

  ownerOf(responseId: string): Promise<StoredResponseOwner | null> {
    const owner = this.#owners.get(responseId);
    return Promise.resolve(owner === undefined ? null : { ...owner });
  }

  forget(responseId: string): Promise<void> {
    this.#owners.delete(responseId);
    return Promise.resolve();
  }
}
