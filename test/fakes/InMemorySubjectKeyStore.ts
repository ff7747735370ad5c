import { KEY_REF_PATTERN, type SubjectKeyStore } from "../../src/core/privacy/SubjectKeyStore.js";

export class InMemorySubjectKeyStore implements SubjectKeyStore {
  /** keyRef -> wrapped key; public so tests can look at what is stored. */
  readonly rows = new Map<string, string>();

  async get(keyRef: string): Promise<string | null> {
    return this.rows.get(keyRef) ?? null;
  }

  async getOrCreate(keyRef: string, wrappedKey: string): Promise<string> {
    if (!KEY_REF_PATTERN.test(keyRef)) throw new RangeError("subject key references are 64 lowercase hex characters");
    const existing = this.rows.get(keyRef);
    if (existing !== undefined) return existing;
    this.rows.set(keyRef, wrappedKey);
    return wrappedKey;
  }

  async delete(keyRef: string): Promise<boolean> {
    return this.rows.delete(keyRef);
  }
}
