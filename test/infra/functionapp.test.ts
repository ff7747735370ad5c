import { readFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { WORKER_NODE_ARGUMENTS } from "../../bench/gateway.js";
import { block, blocks, expr, type Infra, infraDir, loadInfra, localsOf, refersTo, resource, strings, variable } from "./hcl.js";

const REQUIRED_SETTINGS = [
  "AzureWebJobsStorage__accountName",
  "AzureWebJobsStorage__credential",
  "AzureWebJobsStorage__clientId",
  "ServiceBus__fullyQualifiedNamespace",
  "ServiceBus__credential",
  "ServiceBus__clientId",
  "AZURE_STORAGE_TABLE_ENDPOINT",
  "AZURE_STORAGE_BLOB_ENDPOINT",
  "SERVICEBUS_FULLY_QUALIFIED_NAMESPACE",
  "SERVICEBUS_AUDIT_QUEUE",
  "AZURE_KEYVAULT_URL",
  "AZURE_CLIENT_ID",
  "PALISADE_POLICY",
  "PALISADE_AUDIT_DIGEST_SECRET",
  "PALISADE_CHECKPOINT_KEY",
  "PALISADE_CHECKPOINT_CONTAINER",
  "PALISADE_CHECKPOINT_EVERY",
  "KEY_EXPIRY_CHECK_SCHEDULE",
  "ROTATE_KEYS_SCHEDULE",
  "COMPLIANCE_SCHEDULE",
  "AUDIT_DEAD_LETTER_REPLAY_SCHEDULE",
  "STORED_RESPONSE_OWNERS_PURGE_SCHEDULE",
  "PALISADE_STORED_RESPONSE_RETENTION_IN_DAYS",
  "PALISADE_TELEMETRY_EXPORTER",
  "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
];

/** Attribute references that would put a key or a keyed connection string into the deployment. */
const SECRET_REFERENCE = /primary_access_key|secondary_access_key|primary_connection_string|secondary_connection_string|default_primary_key|primary_key\b|instrumentation_key|AccountKey=|SharedAccessKey/;

describe("function app policy", () => {
  let infra: Infra;
  let app: Record<string, unknown>;
  let settings: Record<string, unknown>;
  beforeAll(async () => {
    infra = await loadInfra();
    app = resource(infra, "azurerm_function_app_flex_consumption", "main");
    settings = localsOf(infra).app_settings as Record<string, unknown>;
  });

  it("runs on a Flex Consumption (FC1, Linux) plan with Node 20 or later", () => {
    const plan = resource(infra, "azurerm_service_plan", "main");
    expect(plan.sku_name).toBe("FC1");
    expect(plan.os_type).toBe("Linux");
    expect(refersTo(app.service_plan_id, "azurerm_service_plan.main.id")).toBe(true);
    expect(app.runtime_name).toBe("node");
    expect(refersTo(app.runtime_version, "var.node_version")).toBe(true);
    expect(Number(variable(infra, "node_version").default)).toBeGreaterThanOrEqual(20);
  });

  it("uses the user-assigned identities, and the app identity for the deployment package", () => {
    const identity = block(app, "identity");
    expect(identity.type).toBe("UserAssigned");
    expect(refersTo(identity.identity_ids, "azurerm_user_assigned_identity.app.id")).toBe(true);
    expect(app.storage_authentication_type).toBe("UserAssignedIdentity");
    expect(refersTo(app.storage_user_assigned_identity_id, "azurerm_user_assigned_identity.app.id")).toBe(true);
    expect(refersTo(app.storage_container_endpoint, "azurerm_storage_container.deployment.name")).toBe(true);
    expect(app.storage_access_key).toBeUndefined();
    expect(app.function_app_storage_account_access_key).toBeUndefined();
    expect(blocks(app, "connection_string")).toEqual([]);
  });

  it("is HTTPS only with TLS 1.2 and no basic-auth publishing", () => {
    expect(app.https_only).toBe(true);
    expect(block(app, "site_config").minimum_tls_version).toBe("1.2");
    expect(app.webdeploy_publish_basic_authentication_enabled).toBe(false);
  });

  it("sets every app setting the app reads", () => {
    expect(expr(app.app_settings)).toBe("local.app_settings");
    for (const name of REQUIRED_SETTINGS) expect(settings, name).toHaveProperty(name);
    // The provider owns APPLICATIONINSIGHTS_CONNECTION_STRING; it is set from site_config.
    expect(refersTo(block(app, "site_config").application_insights_connection_string, "azurerm_application_insights.main.connection_string")).toBe(true);
  });

  it("runs the worker with the node flags the benchmarks measured", () => {
    expect(settings.languageWorkers__node__arguments).toBe(WORKER_NODE_ARGUMENTS);
  });

  it("covers every Azure setting listed in docs/conventions.md", async () => {
    const conventions = await readFile(path.join(infraDir, "..", "docs", "conventions.md"), "utf8");
    const rows = conventions.split("\n").filter((line) => line.startsWith("| `"));
    expect(rows.length).toBeGreaterThan(5);
    const names = rows
      .filter((row) => !/local only/i.test(row))
      .flatMap((row) => [...(row.split("|")[1] ?? "").matchAll(/`([A-Za-z_]+)`/g)].map((m) => m[1]!))
      .filter((name) => name !== "ServiceBus"); // the binding prefix, set as ServiceBus__*
    for (const name of names) {
      const set = name in settings || (name === "APPLICATIONINSIGHTS_CONNECTION_STRING" && block(app, "site_config").application_insights_connection_string !== undefined);
      expect(set, `${name} (docs/conventions.md) is not set on the Function App`).toBe(true);
    }
  });

  it("makes every connection identity-based", () => {
    expect(settings).not.toHaveProperty("AzureWebJobsStorage");
    expect(settings).not.toHaveProperty("AZURE_STORAGE_CONNECTION_STRING");
    expect(settings).not.toHaveProperty("SERVICEBUS_CONNECTION_STRING");
    expect(settings.AzureWebJobsStorage__credential).toBe("managedidentity");
    expect(settings.ServiceBus__credential).toBe("managedidentity");
    for (const key of ["AzureWebJobsStorage__clientId", "ServiceBus__clientId", "AZURE_CLIENT_ID"]) {
      expect(refersTo(settings[key], "azurerm_user_assigned_identity.app.client_id"), key).toBe(true);
    }
    expect(refersTo(settings.AzureWebJobsStorage__accountName, "azurerm_storage_account.main.name")).toBe(true);
    expect(settings.PALISADE_TELEMETRY_EXPORTER).toBe("azure-monitor");
    expect(String(settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING)).toMatch(/^ClientId=\$\{azurerm_user_assigned_identity\.app\.client_id\};Authorization=AAD$/);
    expect(resource(infra, "azurerm_application_insights", "main").local_authentication_disabled).toBe(true);
  });

  it("references no storage key, SAS key or keyed connection string anywhere in infra/", () => {
    const offending = [
      ...infra.resources.flatMap((r) => strings(r.body).map((text) => `${r.module}/${r.type}.${r.name}: ${text}`)),
      ...[...infra.locals.values()].flatMap((l) => strings(l).map((text) => `locals: ${text}`)),
      ...infra.outputs.flatMap((o) => strings(o.body).map((text) => `output ${o.name}: ${text}`)),
    ].filter((text) => SECRET_REFERENCE.test(text));
    expect(offending).toEqual([]);
  });
});
