import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";
import { POLICY_SNAPSHOT_FORMAT, type PolicySnapshot } from "../../src/core/policyTrail/PolicySnapshot.js";
import { type PolicySnapshotStore } from "../../src/core/policyTrail/PolicySnapshotStore.js";
import { makeAuditEvent } from "../fakes/InMemoryAuditEvents.js";

export interface PolicySnapshotStoreHarness {
  /** A fresh, empty store (the store holds one row, so each test needs its own). */
  newStore(): Promise<PolicySnapshotStore>;
  stop?(): Promise<void>;
}

export function snapshot(version: string, endpoints = 2): PolicySnapshot {
  return {
    format: POLICY_SNAPSHOT_FORMAT,
    version,
    models: { acme: { "gpt-4o-mini": "gpt-4o-mini-eu" }, billing: { "gpt-4o": "gpt-4o-eu", o3: "o3-eu" } },
    endpoints: Object.fromEntries(
      Array.from({ length: endpoints }, (_, i) => [
        `ep-${i}`,
        { provider: "azure", baseUrl: `https://ep${i}.openai.azure.com`, region: "swedencentral", residency: "eu", class: "standard", deployments: [`d-${i}`], priority: i },
      ]),
    ),
  };
}

/** The behaviour every PolicySnapshotStore has, against the fake and TablePolicySnapshotStore on Azurite. */
export function describePolicySnapshotStoreContract(label: string, factory: () => Promise<PolicySnapshotStoreHarness>): void {
  describe(`PolicySnapshotStore contract: ${label}`, () => {
    let harness: PolicySnapshotStoreHarness;
    beforeAll(async () => {
      harness = await factory();
    });
    afterAll(async () => {
      await harness.stop?.();
    });

    it("has no row at first", async () => {
      expect(await (await harness.newStore()).get()).toBeNull();
    });

    it("creates only when there is no row (expected etag null)", async () => {
      const store = await harness.newStore();
      const etag = await store.compareAndSet({ snapshot: snapshot("v1"), pendingEvents: [], pendingSinceInMs: null }, null);
      expect(etag).toEqual(expect.any(String));
      expect(await store.compareAndSet({ snapshot: snapshot("v2"), pendingEvents: [], pendingSinceInMs: null }, null)).toBeNull();
      const stored = await store.get();
      expect(stored?.snapshot.version).toBe("v1");
      expect(stored?.etag).toBe(etag);
    });

    it("replaces only with the current etag", async () => {
      const store = await harness.newStore();
      const first = await store.compareAndSet({ snapshot: snapshot("v1"), pendingEvents: [], pendingSinceInMs: null }, null);
      const second = await store.compareAndSet({ snapshot: snapshot("v2"), pendingEvents: [], pendingSinceInMs: null }, first);
      expect(second).toEqual(expect.any(String));
      expect(second).not.toBe(first);
      expect(await store.compareAndSet({ snapshot: snapshot("v3"), pendingEvents: [], pendingSinceInMs: null }, first)).toBeNull();
      expect((await store.get())?.snapshot.version).toBe("v2");
    });

    it("round-trips a large snapshot and pending events field for field", async () => {
      const store = await harness.newStore();
      const big = snapshot("v-big", 400);
      const events: AuditEvent[] = Array.from({ length: 30 }, (_, i) =>
        makeAuditEvent({ type: "model_changed", project: "acme", reason: "model_added", details: { model: `m${i}`, deployment: `d${i}`, fromDeployment: null } }, i),
      );
      expect(JSON.stringify(big).length).toBeGreaterThan(60_000);
      await store.compareAndSet({ snapshot: big, pendingEvents: events, pendingSinceInMs: 1_767_225_600_123 }, null);
      const stored = await store.get();
      expect(stored?.snapshot).toEqual(big);
      expect(stored?.pendingEvents).toEqual(events);
      expect(stored?.pendingSinceInMs).toBe(1_767_225_600_123);
    });

    it("lets exactly one of several concurrent writers move the row", async () => {
      const store = await harness.newStore();
      const base = await store.compareAndSet({ snapshot: snapshot("v1"), pendingEvents: [], pendingSinceInMs: null }, null);
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => store.compareAndSet({ snapshot: snapshot(`v2-${i}`), pendingEvents: [], pendingSinceInMs: null }, base)));
      const winners = results.filter((r) => r !== null);
      expect(winners).toHaveLength(1);
      const winner = results.findIndex((r) => r !== null);
      expect((await store.get())?.snapshot.version).toBe(`v2-${winner}`);
    });
  });
}
