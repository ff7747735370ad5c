import { beforeAll, describe, expect, it } from "vitest";
import { block, blocks, expr, type Infra, loadInfra, refersTo, resource, strings, variable } from "./hcl.js";

describe("key vault policy", () => {
  let infra: Infra;
  beforeAll(async () => {
    infra = await loadInfra();
  });

  const kv = (): Record<string, unknown> => resource(infra, "azurerm_key_vault", "main");

  it("authorizes with Azure RBAC, never access policies", () => {
    expect(kv().rbac_authorization_enabled).toBe(true);
    expect(kv().access_policy).toBeUndefined();
    expect(infra.resources.filter((r) => r.type === "azurerm_key_vault_access_policy")).toEqual([]);
  });

  it("keeps purge protection on and soft delete at 90 days", () => {
    expect(kv().purge_protection_enabled).toBe(true);
    expect(kv().soft_delete_retention_days).toBe(90);
  });

  it("turns public network access off and denies by default", () => {
    expect(kv().public_network_access_enabled).toBe(false);
    expect(block(kv(), "network_acls").default_action).toBe("Deny");
  });

  it("creates the checkpoint-signing key as EC P-256 with sign and verify only", () => {
    const key = resource(infra, "azurerm_key_vault_key", "checkpoint");
    expect(refersTo(key.key_vault_id, "azurerm_key_vault.main.id")).toBe(true);
    expect(key.key_type).toBe("EC");
    expect(key.curve).toBe("P-256");
    expect([...(key.key_opts as string[])].sort()).toEqual(["sign", "verify"]);
  });

  it("gives the checkpoint-signing key an expiry and a rotation policy that keeps old versions for verifiers (issue 18 item 13)", () => {
    const key = resource(infra, "azurerm_key_vault_key", "checkpoint");
    expect(expr(key.expiration_date)).toContain("var.checkpoint_key_lifetime_in_days");
    const policy = block(key, "rotation_policy");
    // No automatic rotation: only `palisade audit rotate-key` makes a version, and pins it (issue 21 item 10).
    expect(policy.automatic).toBeUndefined();
    expect(expr(policy.expire_after)).toContain("var.checkpoint_key_lifetime_in_days");
    expect(policy.notify_before_expiry).toBe("P30D");
    // Terraform sets the first expiry once; rotation owns it afterwards (no perpetual diff).
    expect(strings(block(key, "lifecycle").ignore_changes).map((item) => item.replace(/[${}]/g, ""))).toContain("expiration_date");
    // Rotation adds versions; nothing here disables or purges the old ones, which verify old checkpoints.
    expect(JSON.stringify(key)).not.toMatch(/enabled\W+false/);
    const lifetime = variable(infra, "checkpoint_key_lifetime_in_days");
    expect(lifetime.default).toBe(365);
    expect(blocks(lifetime, "validation").length).toBe(1);
  });
});
