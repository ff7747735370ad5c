/**
 * Per-subject encryption keys for GDPR crypto-shredding (table `SubjectKeys`). Rows are keyed by a
 * subject's key reference (an HMAC of the subject id under a pepper), never the id itself, and hold
 * the key only wrapped (AES-256-GCM under a key derived from the pepper): table access alone reveals
 * nothing. Deleting the row is the erasure: what was encrypted under it can no longer be read.
 */
export interface SubjectKeyStoreOptions {
  readonly abortSignal?: AbortSignal;
}

export interface SubjectKeyStore {
  /** The wrapped key; null when the subject has none (never seen, or erased). */
  get(keyRef: string, options?: SubjectKeyStoreOptions): Promise<string | null>;
  /**
   * Stores `wrappedKey` unless the subject already has a key, and returns the key that is stored:
   * this one, or the one another instance stored first (so concurrent first requests agree).
   */
  getOrCreate(keyRef: string, wrappedKey: string, options?: SubjectKeyStoreOptions): Promise<string>;
  /** Destroys the key. true when there was one; succeeds (false) when it is already gone. */
  delete(keyRef: string, options?: SubjectKeyStoreOptions): Promise<boolean>;
}

/** Key references are 64 lowercase hex characters (HMAC-SHA256). */
export const KEY_REF_PATTERN = /^[0-9a-f]{64}$/;
