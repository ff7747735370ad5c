/**
 * Which project made each stored Response. The upstream keeps stored Responses under the endpoint's
 * one credential, so a `resp_...` id alone would let any project continue any other's history:
 * Palisade records the project that made one, and a continuation (`previous_response_id`) passes only
 * for that project. Only ids are kept: never content.
 */
export interface StoredResponseOwners {
  /** Records `projectId` as the maker of the stored Response `responseId`; the first record stands (a repeat changes nothing). */
  record(responseId: string, projectId: string): Promise<void>;
  /** The project that made `responseId`; null when Palisade has no record of it. */
  ownerOf(responseId: string): Promise<string | null>;
}

/** Owners kept per instance (oldest out): for one instance and tests; the app uses Table Storage. */
export class InMemoryStoredResponseOwners implements StoredResponseOwners {
  readonly #owners = new Map<string, string>();

  constructor(private readonly capacity = 100_000) {}

  record(responseId: string, projectId: string): Promise<void> {
    if (this.#owners.has(responseId)) return Promise.resolve();
    this.#owners.set(responseId, projectId);
    if (this.#owners.size > this.capacity) {
      const oldest = this.#owners.keys().next();
      if (oldest.done !== true) this.#owners.delete(oldest.value);
    }
    return Promise.resolve();
  }

  ownerOf(responseId: string): Promise<string | null> {
    return Promise.resolve(this.#owners.get(responseId) ?? null);
  }
}
