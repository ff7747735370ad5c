import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  IDLE_ROTATION_STATE,
  type RotationState,
  type RotationStateStore,
  isRotationStateConflictError,
} from "../../src/core/rotation/RotationStateStore.js";

export interface RotationStateStoreUnderTest {
  readonly store: RotationStateStore;
  /** The store's own idea of now (its server clock), to check timestamps come from it. */
  serverNowInMs(): number;
  stop?(): Promise<void>;
}

const begun = (overrides: Partial<RotationState> = {}): RotationState => ({
  ...IDLE_ROTATION_STATE,
  step: "begun",
  rotationId: `rot-${randomBytes(4).toString("hex")}`,
  owner: "run-1",
  leaseUntilInMs: 1_767_225_600_000,
  fromVersion: "a".repeat(32),
  overlapInMs: 3_600_000,
  ...overrides,
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => null, (error: unknown) => error);
}

/** The behaviour every RotationStateStore has, against the fake and TableRotationStateStore on Azurite. */
export function describeRotationStateStoreContract(label: string, factory: () => Promise<RotationStateStoreUnderTest>): void {
  describe(`RotationStateStore contract: ${label}`, () => {
    let subject: RotationStateStoreUnderTest;
    const unique = (): string => `cred-${randomBytes(5).toString("hex")}`;

    beforeAll(async () => {
      subject = await factory();
    });
    afterAll(async () => {
      await subject.stop?.();
    });

    it("returns null for a credential without a row", async () => {
      expect(await subject.store.get(unique())).toBeNull();
    });

    it("creates a row and reads back the same state, field for field", async () => {
      const id = unique();
      const state = begun({ pendingVersion: "b".repeat(32), promotedAtInMs: 1_767_225_601_000, lastOutcome: "rolled_back", lastFailureReason: "verification_failed" });
      const created = await subject.store.create(id, state);
      expect(created.credentialId).toBe(id);
      expect(created.state).toEqual(state);
      const read = await subject.store.get(id);
      expect(read?.state).toEqual(state);
      expect(read?.etag).toBe(created.etag);
    });

    it("refuses a second create for the same credential", async () => {
      const id = unique();
      await subject.store.create(id, begun());
      expect(isRotationStateConflictError(await rejection(subject.store.create(id, begun())))).toBe(true);
    });

    it("updates with the current ETag and hands out a new one", async () => {
      const id = unique();
      const created = await subject.store.create(id, begun());
      const updated = await subject.store.update(id, { ...created.state, step: "stored", pendingVersion: "c".repeat(32) }, created.etag);
      expect(updated.etag).not.toBe(created.etag);
      expect((await subject.store.get(id))?.state.step).toBe("stored");
    });

    it("refuses an update with a stale ETag and keeps the winner's state", async () => {
      const id = unique();
      const created = await subject.store.create(id, begun());
      await subject.store.update(id, { ...created.state, step: "stored" }, created.etag);
      const error = await rejection(subject.store.update(id, { ...created.state, step: "rolling_back" }, created.etag));
      expect(isRotationStateConflictError(error)).toBe(true);
      expect((await subject.store.get(id))?.state.step).toBe("stored");
    });

    it("refuses an update of a row that does not exist", async () => {
      const id = unique();
      const created = await subject.store.create(unique(), begun());
      expect(isRotationStateConflictError(await rejection(subject.store.update(id, begun(), created.etag)))).toBe(true);
    });

    it("lets exactly one of several concurrent updates with the same ETag win", async () => {
      const id = unique();
      const created = await subject.store.create(id, begun());
      const owners = ["a", "b", "c", "d"];
      const results = await Promise.allSettled(owners.map((owner) => subject.store.update(id, { ...created.state, owner }, created.etag)));
      const winners = results.filter((result) => result.status === "fulfilled");
      expect(winners).toHaveLength(1);
      for (const result of results) if (result.status === "rejected") expect(isRotationStateConflictError(result.reason)).toBe(true);
      const stored = await subject.store.get(id);
      expect(stored?.state.owner).toBe(winners[0]?.status === "fulfilled" ? winners[0].value.state.owner : "none");
    });

    it("stamps each write with the store's own time, moving forward", async () => {
      const id = unique();
      const before = subject.serverNowInMs();
      const created = await subject.store.create(id, begun());
      const updated = await subject.store.update(id, { ...created.state, step: "stored" }, created.etag);
      const after = subject.serverNowInMs();
      expect(created.serverTimestampInMs).toBeGreaterThanOrEqual(before - 1_000);
      expect(updated.serverTimestampInMs).toBeGreaterThanOrEqual(created.serverTimestampInMs);
      expect(updated.serverTimestampInMs).toBeLessThanOrEqual(after + 1_000);
      expect((await subject.store.get(id))?.serverTimestampInMs).toBe(updated.serverTimestampInMs);
    });

    it("lists rows", async () => {
      const ids = [unique(), unique()];
      for (const id of ids) await subject.store.create(id, begun());
      const listed: string[] = [];
      for await (const row of subject.store.list()) listed.push(row.credentialId);
      expect(listed).toEqual(expect.arrayContaining(ids));
    });
  });
}
