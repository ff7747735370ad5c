import { beforeAll, describe, expect, it } from "vitest";
import { blocks, expr, type Infra, loadInfra, refersTo } from "./hcl.js";

const VALIDATED = [
  "location",
  "name_prefix",
  "vnet_address_space",
  "openai_regions",
  "audit_log_retention_days",
  "request_log_retention_days",
  "checkpoint_immutability_days",
  "node_version",
  "audit_queue_max_delivery_count",
  "audit_queue_lock_duration",
  "schedules",
];

const OUTPUTS = {
  function_app_name: "azurerm_function_app_flex_consumption.main.name",
  function_app_default_hostname: "azurerm_function_app_flex_consumption.main.default_hostname",
  key_vault_uri: "azurerm_key_vault.main.vault_uri",
  storage_table_endpoint: "azurerm_storage_account.main.primary_table_endpoint",
  storage_blob_endpoint: "azurerm_storage_account.main.primary_blob_endpoint",
  servicebus_namespace_fqdn: "azurerm_servicebus_namespace.main.name",
  app_identity_client_id: "azurerm_user_assigned_identity.app.client_id",
  rotation_identity_client_id: "azurerm_user_assigned_identity.rotation.client_id",
  openai_endpoints: "module.openai",
};

describe("variables and outputs", () => {
  let infra: Infra;
  beforeAll(async () => {
    infra = await loadInfra();
  });

  it("describes and types every variable, in the root and in modules", () => {
    expect(infra.variables.length).toBeGreaterThan(10);
    for (const v of infra.variables) {
      expect(typeof v.body.description === "string" && v.body.description.length > 10, `${v.module}/${v.name} needs a description`).toBe(true);
      expect(v.body.type, `${v.module}/${v.name} needs a type`).toBeDefined();
    }
  });

  it("validates the inputs that shape security and naming", () => {
    for (const name of VALIDATED) {
      const found = infra.variables.find((v) => v.name === name && v.module === "");
      expect(found, name).toBeDefined();
      const validations = blocks(found!.body, "validation");
      expect(validations.length, `${name} has no validation`).toBeGreaterThan(0);
      for (const validation of validations) {
        expect(expr(validation.condition), name).toContain(`var.${name}`);
        expect(String(validation.error_message).length, name).toBeGreaterThan(10);
      }
    }
  });

  it("outputs what the deploy steps need", () => {
    for (const [name, source] of Object.entries(OUTPUTS)) {
      const output = infra.outputs.find((o) => o.name === name && o.module === "");
      expect(output, name).toBeDefined();
      expect(typeof output!.body.description, name).toBe("string");
      expect(refersTo(output!.body.value, source) || JSON.stringify(output!.body.value).includes(source), `${name} should come from ${source}`).toBe(true);
    }
  });

  it("pins terraform and the azurerm provider to 4.x", () => {
    const required = infra.terraform.filter((t) => t.required_providers !== undefined);
    const root = infra.terraform.find((t) => t.required_version !== undefined);
    expect(root?.required_version).toMatch(/>= 1\.(9|1\d)/);
    const azurerm = required.flatMap((t) => blocks(t, "required_providers")).map((p) => p.azurerm as Record<string, unknown>);
    expect(azurerm.some((p) => typeof p.version === "string" && /^~> 4\./.test(p.version))).toBe(true);
    const provider = infra.providers.find((p) => p.name === "azurerm");
    expect(provider?.body.storage_use_azuread).toBe(true);
  });
});
