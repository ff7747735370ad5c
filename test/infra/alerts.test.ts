import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { block, blocks, expr, type Infra, loadInfra, localsOf, refersTo, resource, variable } from "./hcl.js";

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src");

async function sourceText(directory: string): Promise<string> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true });
  const files = entries.filter((entry) => entry.isFile() && entry.name.endsWith(".ts")).map((entry) => path.join(entry.parentPath, entry.name));
  return (await Promise.all(files.map((file) => readFile(file, "utf8")))).join("\n");
}

describe("alerts policy", () => {
  let infra: Infra;
  let source: string;
  beforeAll(async () => {
    infra = await loadInfra();
    source = await sourceText(SRC);
  });

  it("routes every alert to the operations action group, which emails the configured addresses", () => {
    const group = resource(infra, "azurerm_monitor_action_group", "ops");
    const receivers = (group.dynamic as { email_receiver?: { for_each?: unknown }[] } | undefined)?.email_receiver ?? [];
    expect(receivers.map((receiver) => expr(receiver.for_each))).toEqual(["toset(var.alert_emails)"]);
    expect(variable(infra, "alert_emails").default).toEqual([]);
    const logRules = resource(infra, "azurerm_monitor_scheduled_query_rules_alert_v2", "log");
    expect(blocks(logRules, "action").some((action) => refersTo(action.action_groups, "azurerm_monitor_action_group.ops.id"))).toBe(true);
    expect(refersTo(logRules.scopes, "azurerm_application_insights.main.id")).toBe(true);
    const dlq = resource(infra, "azurerm_monitor_metric_alert", "audit_queue_dead_letters");
    expect(blocks(dlq, "action").some((action) => refersTo(action.action_group_id, "azurerm_monitor_action_group.ops.id"))).toBe(true);
  });

  it("alerts on the audit queue's dead-letter queue for the audit queue itself", () => {
    const dlq = resource(infra, "azurerm_monitor_metric_alert", "audit_queue_dead_letters");
    expect(refersTo(dlq.scopes, "azurerm_servicebus_namespace.main.id")).toBe(true);
    const criteria = block(dlq, "criteria");
    expect(criteria.metric_name).toBe("DeadletteredMessages");
    expect(refersTo(block(criteria, "dimension").values, "var.audit_queue_name")).toBe(true);
  });

  it("queries log messages the app really writes (a renamed message would silence its alert)", () => {
    const alerts = localsOf(infra).log_alerts as Record<string, { query: string; description: string; severity: number }>;
    expect(Object.keys(alerts).sort()).toEqual(["audit-checkpoint-refused", "audit-dead-letters", "audit-publish-failed"]);
    for (const [name, alert] of Object.entries(alerts)) {
      const messages = [...alert.query.matchAll(/has "([^"]+)"/g)].map((match) => match[1] ?? "");
      expect(messages.length, name).toBeGreaterThan(0);
      for (const message of messages) expect(source, `${name}: no code writes "${message}"`).toContain(`"${message}"`);
      expect(alert.severity, name).toBeLessThanOrEqual(1);
    }
  });
});
