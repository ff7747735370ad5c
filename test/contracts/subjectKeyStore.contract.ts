import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SubjectKeyStore } from "../../src/core/privacy/SubjectKeyStore.js";

export interface SubjectKeyStoreUnderTest {
  readonly store: SubjectKeyStore;
  stop?(): Promise<void>;
}

const ref = (): string => randomBytes(32).toString("hex");
const wrapped = (): string => randomBytes(60).toString("base64url");

/** The behaviour every SubjectKeyStore has, against the fake and TableSubjectKeyStore on Azurite. */
export function describeSubjectKeyStoreContract(label: string, factory: () => Promise<SubjectKeyStoreUnderTest>): void {
  describe(`SubjectKeyStore contract: ${label}`, () => {
    let subject: SubjectKeyStoreUnderTest;
    beforeAll(async () => {
      subject = await factory();
    });
    afterAll(async () => {
      await subject.stop?.();
    });

    it("returns null for a subject without a key", async () => {
      expect(await subject.store.get(ref())).toBeNull();
    });

    it("stores a key once: a second getOrCreate returns the first key", async () => {
      const keyRef = ref();
      const first = wrapped();
      expect(await subject.store.getOrCreate(keyRef, first)).toBe(first);
      expect(await subject.store.getOrCreate(keyRef, wrapped())).toBe(first);
      expect(await subject.store.get(keyRef)).toBe(first);
    });

    it("agrees on one key when instances create it concurrently", async () => {
      const keyRef = ref();
      const offered = Array.from({ length: 6 }, wrapped);
      const results = await Promise.all(offered.map((value) => subject.store.getOrCreate(keyRef, value)));
      expect(new Set(results).size).toBe(1);
      expect(offered).toContain(results[0]);
      expect(await subject.store.get(keyRef)).toBe(results[0]);
    });

    it("deletes a key (true), then succeeds again with false; a new key can be made afterwards", async () => {
      const keyRef = ref();
      const first = wrapped();
      await subject.store.getOrCreate(keyRef, first);
      expect(await subject.store.delete(keyRef)).toBe(true);
      expect(await subject.store.get(keyRef)).toBeNull();
      expect(await subject.store.delete(keyRef)).toBe(false);
      const second = wrapped();
      expect(await subject.store.getOrCreate(keyRef, second)).toBe(second);
    });

    it("keeps subjects apart", async () => {
      const [a, b] = [ref(), ref()];
      const [va, vb] = [wrapped(), wrapped()];
      await subject.store.getOrCreate(a, va);
      await subject.store.getOrCreate(b, vb);
      await subject.store.delete(a);
      expect(await subject.store.get(a)).toBeNull();
      expect(await subject.store.get(b)).toBe(vb);
    });

    it("refuses a key reference that is not an HMAC hex digest", async () => {
      await expect(subject.store.getOrCreate("not-a-ref", wrapped())).rejects.toThrow(/64 lowercase hex/);
      expect(await subject.store.get("../x")).toBeNull();
    });
  });
}
