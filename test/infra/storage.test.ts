import { beforeAll, describe, expect, it } from "vitest";
import { block, expr, type Infra, loadInfra, localsOf, refersTo, resource, variable } from "./hcl.js";

describe("storage account policy", () => {
  let infra: Infra;
  beforeAll(async () => {
    infra = await loadInfra();
  });

  const account = (): Record<string, unknown> => resource(infra, "azurerm_storage_account", "main");

  it("disables shared keys and defaults the portal to Entra ID", () => {
    expect(account().shared_access_key_enabled).toBe(false);
    expect(account().default_to_oauth_authentication).toBe(true);
  });

  it("turns public network access off and denies by default", () => {
    expect(account().public_network_access_enabled).toBe(false);
    expect(block(account(), "network_rules").default_action).toBe("Deny");
    expect(account().allow_nested_items_to_be_public).toBe(false);
  });

  it("requires HTTPS and TLS 1.2", () => {
    expect(account().https_traffic_only_enabled).toBe(true);
    expect(account().min_tls_version).toBe("TLS1_2");
  });

  it("enables blob versioning", () => {
    expect(block(account(), "blob_properties").versioning_enabled).toBe(true);
  });

  it("creates every table the app uses in this account", () => {
    const tables = resource(infra, "azurerm_storage_table", "tables");
    expect(refersTo(tables.storage_account_id, "azurerm_storage_account.main.id")).toBe(true);
    expect(expr(tables.for_each)).toBe("toset(local.storage_tables)");
    expect([...(localsOf(infra).storage_tables as string[])].sort()).toEqual(
      ["ApiKeys", "AuditDeadLetters", "AuditLog", "AuditOutbox", "PolicySnapshots", "ResponseCache", "RotationState", "StoredResponseOwners", "SubjectKeys", "UsageCounters"].sort(),
    );
  });

  it("creates private containers for checkpoints, compliance reports and the Flex deployment package", () => {
    const containers = localsOf(infra).containers as Record<string, string>;
    for (const [name, local] of [
      ["checkpoints", "checkpoints"],
      ["compliance", "compliance"],
      ["deployment", "deployment"],
    ] as const) {
      const container = resource(infra, "azurerm_storage_container", name);
      expect(container.container_access_type, name).toBe("private");
      expect(refersTo(container.storage_account_id, "azurerm_storage_account.main.id"), name).toBe(true);
      expect(refersTo(container.name, `local.containers.${local}`), name).toBe(true);
    }
    // The default checkpoint container name is the one the app reads (PALISADE_CHECKPOINT_CONTAINER).
    expect(containers.checkpoints).toBe("audit-checkpoints");
  });

  it("locks a time-based immutability policy on the checkpoint container", () => {
    const policy = resource(infra, "azurerm_storage_container_immutability_policy", "checkpoints");
    expect(policy.locked).toBe(true);
    expect(refersTo(policy.storage_container_resource_manager_id, "azurerm_storage_container.checkpoints.id")).toBe(true);
    expect(refersTo(policy.immutability_period_in_days, "var.checkpoint_immutability_days")).toBe(true);
    // No appends to protected blobs: a signed checkpoint is never extended.
    expect(policy.protected_append_writes_enabled).toBe(false);
    expect(policy.protected_append_writes_all_enabled).toBe(false);
    const period = variable(infra, "checkpoint_immutability_days");
    expect(period.default as number).toBeGreaterThanOrEqual(365);
    expect(expr(block(period, "validation").condition)).toContain(">= 365");
  });
});
