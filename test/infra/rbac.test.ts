import { beforeAll, describe, expect, it } from "vitest";
import { block, expr, type HclBlock, type Infra, loadInfra, moduleCall, refersTo, resource, resourcesOf, strings } from "./hcl.js";

const APP = "azurerm_user_assigned_identity.app.principal_id";
const ROTATION = "azurerm_user_assigned_identity.rotation.principal_id";

/** Every role assignment the deployment should make: role, scope, principal. */
const EXPECTED = [
  { name: "app_storage_table", module: "", role: "Storage Table Data Contributor", scope: "azurerm_storage_account.main.id", principal: APP },
  { name: "app_storage_blob", module: "", role: "Storage Blob Data Contributor", scope: "azurerm_storage_account.main.id", principal: APP },
  { name: "app_servicebus_sender", module: "", role: "Azure Service Bus Data Sender", scope: "azurerm_servicebus_queue.audit.id", principal: APP },
  { name: "app_servicebus_receiver", module: "", role: "Azure Service Bus Data Receiver", scope: "azurerm_servicebus_queue.audit.id", principal: APP },
  { name: "app_key_vault_secrets", module: "", role: "Key Vault Secrets User", scope: "azurerm_key_vault.main.id", principal: APP },
  { name: "app_key_vault_crypto", module: "", role: "Key Vault Crypto User", scope: "azurerm_key_vault_key.checkpoint.resource_manager_versionless_id", principal: APP },
  { name: "app_insights_publisher", module: "", role: "Monitoring Metrics Publisher", scope: "azurerm_application_insights.main.id", principal: APP },
  { name: "rotation_key_vault_secrets", module: "", role: "Key Vault Secrets Officer", scope: "azurerm_key_vault.main.id", principal: ROTATION },
  { name: "deployer_key_vault_crypto_officer", module: "", role: "Key Vault Crypto Officer", scope: "azurerm_key_vault.main.id", principal: "data.azurerm_client_config.current.object_id" },
  { name: "app_content_safety_user", module: "", role: "Cognitive Services User", scope: "azurerm_cognitive_account.content_safety.id", principal: APP },
  { name: "app_openai_user", module: "modules/openai", role: "Cognitive Services OpenAI User", scope: "azurerm_cognitive_account.this.id", principal: "var.app_principal_id" },
] as const;

const BROAD_ROLES = [
  "Owner",
  "Contributor",
  "User Access Administrator",
  "Role Based Access Control Administrator",
  "Key Vault Administrator",
  "Storage Blob Data Owner",
  "Storage Account Contributor",
  "Azure Service Bus Data Owner",
  "Cognitive Services Contributor",
  "Cognitive Services OpenAI Contributor",
];

function describeAssignment(a: HclBlock): string {
  return `${a.module || "root"}/${a.name}`;
}

describe("role assignment policy", () => {
  let infra: Infra;
  let assignments: HclBlock[];
  beforeAll(async () => {
    infra = await loadInfra();
    assignments = resourcesOf(infra, "azurerm_role_assignment");
  });

  for (const expected of EXPECTED) {
    it(`grants ${expected.role} on ${expected.scope} to ${expected.principal}`, () => {
      const assignment = resource(infra, "azurerm_role_assignment", expected.name, expected.module);
      expect(assignment.role_definition_name).toBe(expected.role);
      expect(expr(assignment.scope)).toBe(expected.scope);
      expect(expr(assignment.principal_id)).toBe(expected.principal);
    });
  }

  it("assigns the key-rotation custom role on each OpenAI account to the rotation identity", () => {
    const assignment = resource(infra, "azurerm_role_assignment", "rotation_keys", "modules/openai");
    expect(expr(assignment.scope)).toBe("azurerm_cognitive_account.this.id");
    expect(expr(assignment.principal_id)).toBe("var.rotation_principal_id");
    expect(expr(assignment.role_definition_id)).toBe("var.rotation_role_definition_id");
    const call = moduleCall(infra, "openai");
    expect(expr(call.app_principal_id)).toBe(APP);
    expect(expr(call.rotation_principal_id)).toBe(ROTATION);
    expect(expr(call.rotation_role_definition_id)).toBe("azurerm_role_definition.openai_key_rotator.role_definition_resource_id");
  });

  it("defines the custom role with only listKeys and regenerateKey", () => {
    const role = resource(infra, "azurerm_role_definition", "openai_key_rotator");
    const permissions = block(role, "permissions");
    expect([...(permissions.actions as string[])].sort()).toEqual([
      "Microsoft.CognitiveServices/accounts/listKeys/action",
      "Microsoft.CognitiveServices/accounts/regenerateKey/action",
    ]);
    expect(permissions.data_actions ?? []).toEqual([]);
    expect(permissions.not_actions ?? []).toEqual([]);
    // Assignable only inside this deployment's resource group.
    expect(refersTo(role.assignable_scopes, "azurerm_resource_group.main.id")).toBe(true);
  });

  it("keeps key rotation on an identity separate from the app's", () => {
    expect(resource(infra, "azurerm_user_assigned_identity", "rotation")).toBeDefined();
    const rotationAssignments = assignments.filter((a) => refersTo(a.body.principal_id, ROTATION) || expr(a.body.principal_id) === "var.rotation_principal_id");
    const appAssignments = assignments.filter((a) => refersTo(a.body.principal_id, APP) || expr(a.body.principal_id) === "var.app_principal_id");
    expect(rotationAssignments.map(describeAssignment).sort()).toEqual(["modules/openai/rotation_keys", "root/rotation_key_vault_secrets"]);
    for (const a of appAssignments) {
      expect(a.body.role_definition_name, describeAssignment(a)).not.toBe("Key Vault Secrets Officer");
      expect(a.body.role_definition_id, describeAssignment(a)).toBeUndefined();
    }
  });

  it("makes exactly the expected role assignments, nothing more", () => {
    const expected = [...EXPECTED.map((e) => `${e.module || "root"}/${e.name}`), "modules/openai/rotation_keys"].sort();
    expect(assignments.map(describeAssignment).sort()).toEqual(expected);
  });

  it("grants no broad role anywhere", () => {
    for (const a of assignments) {
      const role = a.body.role_definition_name;
      if (role === undefined) continue;
      expect(typeof role, describeAssignment(a)).toBe("string");
      expect(BROAD_ROLES, describeAssignment(a)).not.toContain(role);
      expect(role as string, describeAssignment(a)).not.toMatch(/^(Owner|Contributor|User Access Administrator)$|Administrator$|Data Owner$/);
    }
  });

  it("references no broad built-in role by id either", () => {
    // Owner, Contributor, User Access Administrator, Role Based Access Control Administrator.
    const broadIds = /8e3af657-a8ff-4c46-b2d3-6ddb2a61d7ad|b24988ac-6180-42a0-ab88-20f7382dd24c|18d7d88d-d35e-4fb5-a5c3-7773c20a72d9|f58310d9-a9f6-439a-9e8d-f62e7b41a168/i;
    for (const a of assignments) {
      expect(strings(a.body).filter((text) => broadIds.test(text)), describeAssignment(a)).toEqual([]);
      if (a.body.role_definition_id !== undefined) expect(expr(a.body.role_definition_id), describeAssignment(a)).toBe("var.rotation_role_definition_id");
    }
  });

  it("never scopes an assignment to a resource group or a subscription", () => {
    for (const a of assignments) {
      const scope = String(a.body.scope);
      expect(scope, describeAssignment(a)).not.toMatch(/azurerm_resource_group|azurerm_subscription|subscription_id|\/subscriptions\/|resourceGroups/);
    }
  });
});
