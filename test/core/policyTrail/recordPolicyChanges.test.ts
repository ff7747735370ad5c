import { describe, expect, it } from "vitest";
import { type AuditEvent } from "../../../src/core/audit/AuditEvent.js";
import { type AuditPublisher } from "../../../src/core/audit/AuditPublisher.js";
import { ManualClock } from "../../../src/core/clock.js";
import { silentLogger } from "../../../src/core/logger.js";
import { type Policy } from "../../../src/core/policy/schema.js";
import { type PolicySnapshotStore } from "../../../src/core/policyTrail/PolicySnapshotStore.js";
import { recordPolicyChanges } from "../../../src/core/policyTrail/recordPolicyChanges.js";
import { InMemoryAuditPublisher } from "../../fakes/InMemoryAuditPublisher.js";
import { InMemoryPolicySnapshotStore } from "../../fakes/InMemoryPolicySnapshotStore.js";
import { samplePolicy } from "./policyFixture.js";

/** Yields between get and compareAndSet, so instances started together really interleave. */
class InterleavingStore implements PolicySnapshotStore {
  constructor(private readonly inner: InMemoryPolicySnapshotStore) {}
  async get() {
    const value = await this.inner.get();
    await new Promise((resolve) => setTimeout(resolve, 1));
    return value;
  }
  compareAndSet(state: Parameters<PolicySnapshotStore["compareAndSet"]>[0], expectedEtag: string | null) {
    return this.inner.compareAndSet(state, expectedEtag);
  }
}

const start = (store: PolicySnapshotStore, publisher: AuditPublisher, policy: Policy, version: string, clock = new ManualClock()) =>
  recordPolicyChanges({ store, publisher, policy, version, clock, logger: silentLogger });

describe("recordPolicyChanges", () => {
  it("emits the initial version once, then nothing on restarts of the same version", async () => {
    const store = new InMemoryPolicySnapshotStore();
    const publisher = new InMemoryAuditPublisher();
    const { policy, version } = samplePolicy();
    expect(await start(store, publisher, policy, version)).toEqual({ outcome: "recorded", events: 1 });
    expect(await start(store, publisher, policy, version)).toEqual({ outcome: "unchanged", events: 0 });
    expect(publisher.published.map((e) => e.reason)).toEqual(["policy_initial"]);
    expect(publisher.published[0]).toMatchObject({ type: "policy_changed", project: "_system", policyVersion: version, actor: { kind: "system", id: "policyTrail" } });
  });

  it("of N instances starting a new version together, exactly one emits the change", async () => {
    const inner = new InMemoryPolicySnapshotStore();
    const store = new InterleavingStore(inner);
    const publisher = new InMemoryAuditPublisher();
    const v1 = samplePolicy();
    await start(store, publisher, v1.policy, v1.version);
    const v2 = samplePolicy().policy;
    v2.projects[0]!.models.push({ name: "o3-mini", deployment: "gpt-4o" });
    const results = await Promise.all(Array.from({ length: 8 }, () => start(store, publisher, v2, "v2")));
    expect(results.filter((r) => r.outcome === "recorded")).toHaveLength(1);
    // The others saw the new version already recorded, or claimed and being published right now.
    expect(results.filter((r) => r.outcome === "unchanged" || r.outcome === "in_progress")).toHaveLength(7);
    const changes = publisher.published.slice(1);
    expect(changes.map((e) => `${e.type}/${e.project}/${e.reason}`)).toEqual(["policy_changed/_system/policy_updated", `model_changed/${v2.projects[0]!.id}/model_added`]);
    expect((await inner.get())?.snapshot.version).toBe("v2");
    expect((await inner.get())?.pendingEvents).toEqual([]);
  });

  it("keeps the events pending when publishing fails, and the next start-up publishes them with the same ids", async () => {
    const store = new InMemoryPolicySnapshotStore();
    const publisher = new InMemoryAuditPublisher();
    const v1 = samplePolicy();
    await start(store, publisher, v1.policy, v1.version);
    publisher.failing = true;
    const v2 = samplePolicy().policy;
    v2.endpoints = v2.endpoints.slice(1);
    expect(await start(store, publisher, v2, "v2")).toEqual({ outcome: "pending", events: 2 });
    const pending: readonly AuditEvent[] = (await store.get())?.pendingEvents ?? [];
    expect(pending.map((e) => e.reason)).toEqual(["policy_updated", "endpoint_removed"]);
    publisher.failing = false;
    // Within the claim's lease another instance leaves them alone; after it, one takes them over.
    const soon = new ManualClock();
    soon.advance(60_000);
    expect(await start(store, publisher, v2, "v2", soon)).toEqual({ outcome: "in_progress", events: 0 });
    expect(await start(store, publisher, v2, "v2", new ManualClock(Date.UTC(2027, 0, 1)))).toEqual({ outcome: "recorded", events: 2 });
    expect(publisher.published.slice(1).map((e) => e.eventId)).toEqual(pending.map((e) => e.eventId));
    expect(publisher.published.slice(1).map((e) => e.ts)).toEqual(pending.map((e) => e.ts));
    expect(await start(store, publisher, v2, "v2")).toEqual({ outcome: "unchanged", events: 0 });
  });

  it("derives the same event ids for the same change, and different ids for a different change", async () => {
    const v1 = samplePolicy();
    const runOnce = async (toVersion: string) => {
      const store = new InMemoryPolicySnapshotStore();
      const publisher = new InMemoryAuditPublisher();
      await start(store, publisher, v1.policy, v1.version);
      await start(store, publisher, v1.policy, toVersion);
      return publisher.published.slice(1).map((e) => e.eventId);
    };
    expect(await runOnce("v2")).toEqual(await runOnce("v2"));
    expect(await runOnce("v2")).not.toEqual(await runOnce("v3"));
  });

  it("publishes a trail entry naming an endpoint whose only change is its operations", async () => {
    const store = new InMemoryPolicySnapshotStore();
    const publisher = new InMemoryAuditPublisher();
    const v1 = samplePolicy();
    await start(store, publisher, v1.policy, v1.version);
    const v2 = samplePolicy().policy;
    v2.endpoints.find((e) => e.id === "eu-west-standard")!.operations = ["chat", "responses"];
    expect(await start(store, publisher, v2, "v2")).toEqual({ outcome: "recorded", events: 2 });
    const entry = publisher.published.find((e) => e.reason === "endpoint_changed");
    expect(entry).toMatchObject({ type: "policy_changed", project: "_system", policyVersion: "v2", details: { endpointId: "eu-west-standard", changedFields: "operations", operations: "chat,responses", fromOperations: "chat,embeddings,responses" } });
  });
});

