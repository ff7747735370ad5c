import { TableClient } from "@azure/data-tables";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../../local/azurite.js";
import { recordPolicyChangesAtStartUp } from "../../../src/composition/compliance.js";
import { parseSettings } from "../../../src/composition/settings.js";
import { ManualClock } from "../../../src/core/clock.js";
import { silentLogger } from "../../../src/core/logger.js";
import { InMemoryAuditPublisher } from "../../fakes/InMemoryAuditPublisher.js";
import { samplePolicy } from "../../core/policyTrail/policyFixture.js";

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

describe("policy trail at start-up on Azurite (TablePolicySnapshotStore)", () => {
  it("four instances starting a new version together record the change once", async () => {
    const cs = azurite.connectionString;
    const storage = {
      table: (name: string) => TableClient.fromConnectionString(cs, name, { allowInsecureConnection: true }),
      blobService: async () => BlobServiceClient.fromConnectionString(cs),
    };
    const settings = parseSettings({ AZURE_STORAGE_CONNECTION_STRING: cs, PALISADE_LOCAL_STACK: "true" });
    const publisher = new InMemoryAuditPublisher();
    const audit = { publisherFor: () => publisher };
    const startUp = (policy: { policy: ReturnType<typeof samplePolicy>["policy"]; version: string }) =>
      recordPolicyChangesAtStartUp({ storage, settings, policy, audit, clock: new ManualClock(), logger: silentLogger });

    const v1 = samplePolicy();
    expect((await startUp(v1)).outcome).toBe("recorded");
    const v2 = samplePolicy();
    v2.policy.projects[0]!.models.pop();
    const results = await Promise.all(Array.from({ length: 4 }, () => startUp({ policy: v2.policy, version: "f".repeat(64) })));
    expect(results.filter((r) => r.outcome === "recorded")).toHaveLength(1);
    expect(results.filter((r) => r.outcome === "unchanged" || r.outcome === "in_progress")).toHaveLength(3);
    expect(publisher.published.map((e) => `${e.type}/${e.reason}`)).toEqual(["policy_changed/policy_initial", "policy_changed/policy_updated", "model_changed/model_removed"]);
  }, 60_000);

  it("records an endpoint whose only change is its operations, from the snapshot stored in the table", async () => {
    const cs = azurite.connectionString;
    const storage = {
      table: (name: string) => TableClient.fromConnectionString(cs, `${name}Ops`, { allowInsecureConnection: true }),
      blobService: async () => BlobServiceClient.fromConnectionString(cs),
    };
    const settings = parseSettings({ AZURE_STORAGE_CONNECTION_STRING: cs, PALISADE_LOCAL_STACK: "true" });
    const publisher = new InMemoryAuditPublisher();
    const startUp = (policy: { policy: ReturnType<typeof samplePolicy>["policy"]; version: string }) =>
      recordPolicyChangesAtStartUp({ storage, settings, policy, audit: { publisherFor: () => publisher }, clock: new ManualClock(), logger: silentLogger });

    expect((await startUp(samplePolicy())).outcome).toBe("recorded");
    const v2 = samplePolicy();
    v2.policy.endpoints.find((endpoint) => endpoint.id === "eu-west-zdr")!.operations = ["chat", "responses"];
    expect(await startUp({ policy: v2.policy, version: "e".repeat(64) })).toEqual({ outcome: "recorded", events: 2 });
    expect(publisher.published.at(-1)).toMatchObject({
      type: "policy_changed",
      reason: "endpoint_changed",
      details: { endpointId: "eu-west-zdr", changedFields: "operations", operations: "chat,responses", fromOperations: "chat,embeddings,responses" },
    });
  }, 60_000);
});
