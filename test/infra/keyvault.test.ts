import { beforeAll, describe, expect, it } from "vitest";
import { block, type Infra, loadInfra, refersTo, resource } from "./hcl.js";

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
});
