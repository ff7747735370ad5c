import { describe, expect, it } from "vitest";
import { parseAuditEvent } from "../../../src/core/audit/auditEventSchema.js";
import { policyChanges } from "../../../src/core/policyTrail/policyChanges.js";
import { type EndpointPolicy } from "../../../src/core/policy/schema.js";
import { type PolicySnapshot, snapshotOf } from "../../../src/core/policyTrail/PolicySnapshot.js";
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

  describe("endpoint settings that govern where data goes and how it is sent", () => {
    const endpointChange = (edit: (endpoint: EndpointPolicy) => void) => {
      const before = samplePolicy();
      const after = samplePolicy().policy;
      edit(after.endpoints.find((e) => e.id === "eu-west-zdr")!);
      return policyChanges(snapshotOf(before.policy, before.version), after, "v2").filter((c) => c.reason === "endpoint_changed");
    };

    it("records an endpoint whose only change is its list of operations (embeddings disabled)", () => {
      const changes = endpointChange((endpoint) => {
        endpoint.operations = ["chat", "responses"];
      });
      expect(changes).toHaveLength(1);
      expect(changes[0]).toMatchObject({ type: "policy_changed", project: "_system", key: "endpoint:eu-west-zdr" });
      expect(changes[0]?.details).toMatchObject({ endpointId: "eu-west-zdr", changedFields: "operations", operations: "chat,responses", fromOperations: "chat,embeddings,responses" });
    });

    it("records operations left unset as the default they mean, and the same list in another order as no change", () => {
      expect(endpointChange((endpoint) => void delete endpoint.operations)[0]?.details).toMatchObject({ changedFields: "operations", operations: "chat,responses" });
      expect(endpointChange((endpoint) => (endpoint.operations = ["responses", "embeddings", "chat"]))).toEqual([]);
    });

    it.each<[string, (endpoint: EndpointPolicy) => void, Record<string, string | number>]>([
      ["deployments", (e) => e.deployments.push("o3-mini"), { deployments: "gpt-4o,gpt-4o-mini,o3-mini,text-embedding-3-small" }],
      ["residency", (e) => (e.residency = "us"), { residency: "us", fromResidency: "eu" }],
      ["region", (e) => (e.region = "swedencentral"), { region: "swedencentral", fromRegion: "westeurope" }],
      ["class", (e) => (e.class = "standard"), { class: "standard", fromClass: "zdr" }],
      ["priority", (e) => (e.priority = 9), { priority: 9, fromPriority: 2 }],
      ["auth", (e) => (e.auth = { kind: "key-vault-secret", secretName: "openai-eu" }), { auth: "key-vault-secret:openai-eu", fromAuth: "none" }],
      ["apiVersion", (e) => (e.apiVersion = "2025-04-01-preview"), { apiVersion: "2025-04-01-preview" }],
      ["baseUrl", (e) => (e.baseUrl = "https://eu.example.openai.azure.com"), { fromBaseUrl: "http://127.0.0.1:7101" }],
    ])("records a change of %s alone, naming it", (field, edit, details) => {
      const changes = endpointChange(edit);
      expect(changes).toHaveLength(1);
      expect(changes[0]?.details).toMatchObject({ changedFields: field, ...details });
    });

    it("records no change of a setting the previous snapshot did not hold (written before it was recorded)", () => {
      const before = samplePolicy();
      const old: PolicySnapshot = structuredClone(snapshotOf(before.policy, before.version));
      for (const endpoint of Object.values(old.endpoints)) {
        delete endpoint.operations;
        delete endpoint.auth;
        delete endpoint.apiVersion;
      }
      expect(policyChanges(old, before.policy, "v2").map((c) => c.reason)).toEqual(["policy_updated"]);
    });

    it("does not record a timeout change as a governance change", () => {
      expect(endpointChange((endpoint) => (endpoint.timeoutInMs = 5_000))).toEqual([]);
    });
  });
});
