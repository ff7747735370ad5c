import { beforeAll, describe, expect, it } from "vitest";
import { blocks, expr, type Infra, loadInfra, moduleCall, refersTo, resource, resourcesOf, variable } from "./hcl.js";

const WORKSPACE = {
  root: { audit: "azurerm_log_analytics_workspace.audit.id", ops: "azurerm_log_analytics_workspace.ops.id" },
  openai: { audit: "var.audit_workspace_id", ops: "var.ops_workspace_id" },
};

const TARGETS = [
  { label: "Key Vault", module: "", target: "azurerm_key_vault.main.id", workspaces: WORKSPACE.root },
  { label: "Service Bus", module: "", target: "azurerm_servicebus_namespace.main.id", workspaces: WORKSPACE.root },
  { label: "Storage (blob and table services)", module: "", target: "azurerm_storage_account.main.id", workspaces: WORKSPACE.root },
  { label: "Azure OpenAI", module: "modules/openai", target: "azurerm_cognitive_account.this.id", workspaces: WORKSPACE.openai },
] as const;

describe("diagnostics policy", () => {
  let infra: Infra;
  beforeAll(async () => {
    infra = await loadInfra();
  });

  for (const { label, module, target, workspaces } of TARGETS) {
    it(`sends ${label} audit logs to the audit workspace and allLogs to the operations workspace`, () => {
      const settings = resourcesOf(infra, "azurerm_monitor_diagnostic_setting", module).filter((s) => refersTo(s.body.target_resource_id, target));
      const groups = (workspace: string): string[] =>
        settings.filter((s) => refersTo(s.body.log_analytics_workspace_id, workspace)).flatMap((s) => blocks(s.body, "enabled_log").map((l) => String(l.category_group)));
      expect(groups(workspaces.audit)).toContain("audit");
      expect(groups(workspaces.ops)).toContain("allLogs");
      // Request/response content never lands in the long-retention workspace by accident.
      expect(groups(workspaces.audit)).not.toContain("allLogs");
    });
  }

  it("covers both the blob and the table service of the storage account", () => {
    for (const name of ["storage_audit", "storage_all"]) {
      const setting = resource(infra, "azurerm_monitor_diagnostic_setting", name);
      expect(expr(setting.for_each)).toContain('"blobServices"');
      expect(expr(setting.for_each)).toContain('"tableServices"');
      expect(expr(setting.target_resource_id)).toMatch(/\/\$\{each\.value\}\/default$/);
    }
  });

  it("wires the module's workspaces to the audit and operations workspaces", () => {
    const call = moduleCall(infra, "openai");
    expect(refersTo(call.audit_workspace_id, WORKSPACE.root.audit)).toBe(true);
    expect(refersTo(call.ops_workspace_id, WORKSPACE.root.ops)).toBe(true);
  });

  it("keeps audit logs 365 days and request/response logs 90 days, as validated variables", () => {
    expect(refersTo(resource(infra, "azurerm_log_analytics_workspace", "audit").retention_in_days, "var.audit_log_retention_days")).toBe(true);
    expect(refersTo(resource(infra, "azurerm_log_analytics_workspace", "ops").retention_in_days, "var.request_log_retention_days")).toBe(true);
    const tables = resource(infra, "azurerm_log_analytics_workspace_table", "audit");
    expect(refersTo(tables.workspace_id, WORKSPACE.root.audit)).toBe(true);
    expect(refersTo(tables.total_retention_in_days, "var.audit_log_retention_days")).toBe(true);

    const audit = variable(infra, "audit_log_retention_days");
    const requests = variable(infra, "request_log_retention_days");
    expect(audit.default).toBe(365);
    expect(requests.default).toBe(90);
    expect(expr(blocks(audit, "validation")[0]?.condition)).toContain("var.audit_log_retention_days >= 365");
    expect(expr(blocks(requests, "validation")[0]?.condition)).toContain("var.request_log_retention_days >= 30");
  });

  it("sends Application Insights telemetry to the operations workspace", () => {
    expect(refersTo(resource(infra, "azurerm_application_insights", "main").workspace_id, WORKSPACE.root.ops)).toBe(true);
  });
});
