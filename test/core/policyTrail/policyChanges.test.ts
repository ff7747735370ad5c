import { describe, expect, it } from "vitest";
import { parseAuditEvent } from "../../../src/core/audit/auditEventSchema.js";
import { policyChanges } from "../../../src/core/policyTrail/policyChanges.js";
import { snapshotOf } from "../../../src/core/policyTrail/PolicySnapshot.js";
import { samplePolicy } from "./policyFixture.js";

describe("policyChanges", () => {
  it("records the first version once, on the system chain", () => {
    const { policy, version } = samplePolicy();
    expect(policyChanges(null, policy, version)).toEqual([
      { type: "policy_changed", project: "_system", reason: "policy_initial", details: { fromVersion: null, toVersion: version, projects: policy.projects.length, endpoints: policy.endpoints.length }, key: "policy" },
    ]);
  });

  it("records nothing when the version is the one already recorded", () => {
    const { policy, version } = samplePolicy();
    expect(policyChanges(snapshotOf(policy, version), policy, version)).toEqual([]);
  });

  it("records a model added, removed and remapped on the project's chain, and endpoint changes on _system", () => {
    const before = samplePolicy();
    const after = samplePolicy().policy;
    const demo = after.projects.find((p) => p.id === "demo")!;
    demo.models = [
      { name: "gpt-4o-mini", deployment: "gpt-4o" }, // remapped
      { name: "o3-mini", deployment: "gpt-4o" }, // added; gpt-4o removed
      ...demo.models.filter((model) => model.name === "text-embedding-3-small"), // unchanged
    ];
    after.endpoints = after.endpoints.filter((e) => e.id !== "eu-west-cached");
    const changed = after.endpoints.find((e) => e.id === "us-east-standard")!;
    changed.region = "eastus2";
    after.endpoints.push({ ...changed, id: "eu-central-new", region: "germanywestcentral", residency: "eu" });
    const changes = policyChanges(snapshotOf(before.policy, before.version), after, "v2");
    const summary = changes.map((c) => `${c.type}/${c.project}/${c.reason}/${String(c.details.model ?? c.details.endpointId ?? "")}`);
    expect(summary).toEqual([
      "policy_changed/_system/policy_updated/",
      "model_changed/demo/model_removed/gpt-4o",
      "model_changed/demo/model_remapped/gpt-4o-mini",
      "model_changed/demo/model_added/o3-mini",
      "policy_changed/_system/endpoint_added/eu-central-new",
      "policy_changed/_system/endpoint_removed/eu-west-cached",
      "policy_changed/_system/endpoint_changed/us-east-standard",
    ]);
    expect(changes.find((c) => c.reason === "model_remapped")?.details).toMatchObject({ fromDeployment: "gpt-4o-mini", deployment: "gpt-4o" });
    expect(changes.find((c) => c.reason === "endpoint_changed")?.details.changedFields).toBe("region");
    expect(changes[0]?.details).toEqual({ fromVersion: before.version, toVersion: "v2" });
  });

  it("records a new version even when only other settings changed", () => {
    const { policy, version } = samplePolicy();
    expect(policyChanges(snapshotOf(policy, version), policy, "v-whitespace").map((c) => c.reason)).toEqual(["policy_updated"]);
  });

  it("produces fields that make valid audit events", () => {
    const { policy, version } = samplePolicy();
    const after = samplePolicy().policy;
    after.projects[0]!.models.push({ name: "extra", deployment: "gpt-4o" });
    for (const change of policyChanges(snapshotOf(policy, version), after, "v3")) {
      const { key: _key, ...fields } = change;
      const parsed = parseAuditEvent({ ...fields, schemaVersion: 1, eventId: "e", ts: "2026-01-01T00:00:00.000Z", actor: { kind: "system", id: "policyTrail" }, status: "success", policyVersion: "v3" });
      expect(parsed.ok, JSON.stringify(parsed)).toBe(true);
    }
  });
});
