import { describe, expect, it } from "vitest";
import { legacyOwnerRoute, ownersWithLegacyRoutes } from "../../../../src/core/gateway/operations/responses/ownersWithLegacyRoutes.js";
import { InMemoryStoredResponseOwners } from "../../../../src/core/gateway/operations/responses/StoredResponseOwners.js";
import { gatewayPolicy } from "../gatewayHarness.js";

describe("legacyOwnerRoute: where a record without model and endpoint is read back", () => {
  it("the project's model on the endpoint a create would try first (priority within its residency, any class)", () => {
    expect(legacyOwnerRoute(gatewayPolicy(), { projectId: "acme" })).toEqual({ projectId: "acme", model: "gpt-4o-mini", endpointId: "eu-west-std" });
    expect(legacyOwnerRoute(gatewayPolicy(), { projectId: "other" })).toEqual({ projectId: "other", model: "gpt-4o-mini", endpointId: "us-east-std" });
    const zdrFirst = gatewayPolicy({}, {
      endpoints: [
        { id: "eu-west-std", provider: "azure", baseUrl: "https://a.example.invalid", region: "westeurope", residency: "eu", class: "standard", deployments: ["mini"], priority: 5, auth: { kind: "none" }, timeoutInMs: 5_000 },
        { id: "eu-chat-only", provider: "azure", baseUrl: "https://b.example.invalid", region: "westeurope", residency: "eu", class: "zdr", deployments: ["mini"], operations: ["chat"], priority: 1, auth: { kind: "none" }, timeoutInMs: 5_000 },
        { id: "eu-north-zdr", provider: "azure", baseUrl: "https://c.example.invalid", region: "swedencentral", residency: "eu", class: "zdr", deployments: ["mini"], priority: 2, auth: { kind: "none" }, timeoutInMs: 5_000 },
      ],
    });
    expect(legacyOwnerRoute(zdrFirst, { projectId: "acme" })?.endpointId).toBe("eu-north-zdr");
  });

  it("none when the project is gone from the policy or no endpoint of its residency serves its models", () => {
    expect(legacyOwnerRoute(gatewayPolicy(), { projectId: "gone" })).toBeNull();
    expect(legacyOwnerRoute(gatewayPolicy(), { projectId: "tokyo" })).toBeNull();
  });
});

describe("ownersWithLegacyRoutes", () => {
  it("completes a record without model and endpoint, and leaves complete records, unroutable ones and absent ones as they are", async () => {
    const owners = new InMemoryStoredResponseOwners();
    await owners.record("resp_old", { projectId: "acme" });
    await owners.record("resp_new", { projectId: "acme", model: "gpt-4o-mini", endpointId: "eu-west-zdr" });
    await owners.record("resp_tokyo", { projectId: "tokyo" });
    const completed = ownersWithLegacyRoutes(owners, gatewayPolicy());
    await expect(completed.ownerOf("resp_old")).resolves.toEqual({ projectId: "acme", model: "gpt-4o-mini", endpointId: "eu-west-std" });
    await expect(completed.ownerOf("resp_new")).resolves.toEqual({ projectId: "acme", model: "gpt-4o-mini", endpointId: "eu-west-zdr" });
    await expect(completed.ownerOf("resp_tokyo")).resolves.toEqual({ projectId: "tokyo" });
    await expect(completed.ownerOf("resp_never")).resolves.toBeNull();
    await completed.forget("resp_old");
    await expect(owners.ownerOf("resp_old")).resolves.toBeNull();
  });
});
