import { beforeAll, describe, expect, it } from "vitest";
import { type Infra, loadInfra, refersTo, resource, variable } from "./hcl.js";

describe("service bus policy", () => {
  let infra: Infra;
  beforeAll(async () => {
    infra = await loadInfra();
  });

  it("uses a Premium namespace (private endpoints) with local auth and public access off, TLS 1.2", () => {
    const ns = resource(infra, "azurerm_servicebus_namespace", "main");
    expect(ns.sku).toBe("Premium");
    expect(ns.local_auth_enabled).toBe(false);
    expect(ns.public_network_access_enabled).toBe(false);
    expect(ns.minimum_tls_version).toBe("1.2");
  });

  it("makes the audit queue session-enabled, dead-lettering on expiry, with bounded deliveries and a lock", () => {
    const queue = resource(infra, "azurerm_servicebus_queue", "audit");
    expect(refersTo(queue.namespace_id, "azurerm_servicebus_namespace.main.id")).toBe(true);
    expect(queue.requires_session).toBe(true);
    expect(queue.dead_lettering_on_message_expiration).toBe(true);
    expect(refersTo(queue.max_delivery_count, "var.audit_queue_max_delivery_count")).toBe(true);
    expect(refersTo(queue.lock_duration, "var.audit_queue_lock_duration")).toBe(true);
    expect(refersTo(queue.name, "var.audit_queue_name")).toBe(true);
    expect(variable(infra, "audit_queue_name").default).toBe("audit-events");
    const deliveries = variable(infra, "audit_queue_max_delivery_count").default as number;
    expect(deliveries).toBeGreaterThanOrEqual(3);
    expect(deliveries).toBeLessThanOrEqual(100);
  });
});
