import { beforeAll, describe, expect, it } from "vitest";
import { block, blocks, expr, type Infra, loadInfra, localsOf, moduleCall, refersTo, resource, resourcesOf } from "./hcl.js";

const ZONES = {
  blob: "privatelink.blob.core.windows.net",
  table: "privatelink.table.core.windows.net",
  servicebus: "privatelink.servicebus.windows.net",
  vault: "privatelink.vaultcore.azure.net",
  openai: "privatelink.openai.azure.com",
};

/** Each private endpoint: where it is, what it connects to, which subresource, which DNS zone. */
const ENDPOINTS = [
  { name: "blob", module: "", target: "azurerm_storage_account.main.id", subresource: "blob", zone: 'azurerm_private_dns_zone.zones["blob"].id' },
  { name: "table", module: "", target: "azurerm_storage_account.main.id", subresource: "table", zone: 'azurerm_private_dns_zone.zones["table"].id' },
  { name: "servicebus", module: "", target: "azurerm_servicebus_namespace.main.id", subresource: "namespace", zone: 'azurerm_private_dns_zone.zones["servicebus"].id' },
  { name: "key_vault", module: "", target: "azurerm_key_vault.main.id", subresource: "vault", zone: 'azurerm_private_dns_zone.zones["vault"].id' },
  { name: "this", module: "modules/openai", target: "azurerm_cognitive_account.this.id", subresource: "account", zone: "var.private_endpoint.private_dns_zone_id" },
] as const;

describe("network policy", () => {
  let infra: Infra;
  beforeAll(async () => {
    infra = await loadInfra();
  });

  it("delegates the Function App integration subnet to Microsoft.App/environments (Flex Consumption)", () => {
    const subnet = resource(infra, "azurerm_subnet", "app");
    expect(refersTo(subnet.virtual_network_name, "azurerm_virtual_network.main.name")).toBe(true);
    const delegation = block(block(subnet, "delegation"), "service_delegation");
    expect(delegation.name).toBe("Microsoft.App/environments");
    expect(refersTo(resource(infra, "azurerm_function_app_flex_consumption", "main").virtual_network_subnet_id, "azurerm_subnet.app.id")).toBe(true);
  });

  it("has a separate subnet for private endpoints", () => {
    const subnet = resource(infra, "azurerm_subnet", "private_endpoints");
    expect(refersTo(subnet.virtual_network_name, "azurerm_virtual_network.main.name")).toBe(true);
    expect(blocks(subnet, "delegation")).toEqual([]);
  });

  it("creates the five privatelink DNS zones and links each to the VNet", () => {
    expect(localsOf(infra).private_dns_zones).toEqual(ZONES);
    const zones = resource(infra, "azurerm_private_dns_zone", "zones");
    expect(expr(zones.for_each)).toBe("local.private_dns_zones");
    const links = resource(infra, "azurerm_private_dns_zone_virtual_network_link", "zones");
    expect(expr(links.for_each)).toBe("local.private_dns_zones");
    expect(refersTo(links.private_dns_zone_name, "azurerm_private_dns_zone.zones[each.key].name")).toBe(true);
    expect(refersTo(links.virtual_network_id, "azurerm_virtual_network.main.id")).toBe(true);
    expect(links.registration_enabled).toBe(false);
  });

  for (const endpoint of ENDPOINTS) {
    it(`has a private endpoint for ${endpoint.target} (${endpoint.subresource}) registered in its zone`, () => {
      const pe = resource(infra, "azurerm_private_endpoint", endpoint.name, endpoint.module);
      const connection = block(pe, "private_service_connection");
      expect(refersTo(connection.private_connection_resource_id, endpoint.target)).toBe(true);
      expect(connection.subresource_names).toEqual([endpoint.subresource]);
      expect(connection.is_manual_connection).toBe(false);
      expect(refersTo(block(pe, "private_dns_zone_group").private_dns_zone_ids, endpoint.zone)).toBe(true);
      const subnet = endpoint.module === "" ? "azurerm_subnet.private_endpoints.id" : "var.private_endpoint.subnet_id";
      expect(refersTo(pe.subnet_id, subnet)).toBe(true);
    });
  }

  it("passes the OpenAI zone and the private endpoint subnet to every OpenAI module instance", () => {
    const pe = moduleCall(infra, "openai").private_endpoint as Record<string, unknown>;
    expect(refersTo(pe.private_dns_zone_id, 'azurerm_private_dns_zone.zones["openai"].id')).toBe(true);
    expect(refersTo(pe.subnet_id, "azurerm_subnet.private_endpoints.id")).toBe(true);
  });

  it("turns public network access off on every data service, and gives each a private endpoint", () => {
    const dataServices = ["azurerm_storage_account", "azurerm_key_vault", "azurerm_servicebus_namespace", "azurerm_cognitive_account"];
    const targets = resourcesOf(infra, "azurerm_private_endpoint").map((pe) => String(block(pe.body, "private_service_connection").private_connection_resource_id));
    for (const service of dataServices) {
      const found = resourcesOf(infra, service);
      expect(found.length, service).toBeGreaterThan(0);
      for (const r of found) {
        expect(r.body.public_network_access_enabled, `${r.module}/${r.type}.${r.name}`).toBe(false);
        expect(targets.some((t) => refersTo(t, `${r.type}.${r.name}.id`)), `${r.type}.${r.name} has no private endpoint`).toBe(true);
      }
    }
    // Anything else that exposes the switch keeps it off too, except the gateway's own HTTPS front door.
    for (const r of infra.resources) {
      if (!("public_network_access_enabled" in r.body) || r.type === "azurerm_function_app_flex_consumption") continue;
      expect(r.body.public_network_access_enabled, `${r.module}/${r.type}.${r.name}`).toBe(false);
    }
  });

  describe("network security groups (issue 18 item 13)", () => {
    const rules = (nsg: string) => blocks(resource(infra, "azurerm_network_security_group", nsg), "security_rule");
    const denyAllInbound = (nsg: string) =>
      rules(nsg).some((rule) => rule.direction === "Inbound" && rule.access === "Deny" && rule.source_address_prefix === "*" && rule.destination_port_range === "*" && rule.priority === 4096);

    it.each([
      ["app", "azurerm_subnet.app.id", "azurerm_network_security_group.app.id"],
      ["private_endpoints", "azurerm_subnet.private_endpoints.id", "azurerm_network_security_group.private_endpoints.id"],
    ])("associates the %s subnet with its own network security group", (name, subnet, nsg) => {
      const association = resource(infra, "azurerm_subnet_network_security_group_association", name);
      expect(refersTo(association.subnet_id, subnet)).toBe(true);
      expect(refersTo(association.network_security_group_id, nsg)).toBe(true);
    });

    it("covers every subnet with a network security group", () => {
      const subnets = resourcesOf(infra, "azurerm_subnet").map((subnet) => `azurerm_subnet.${subnet.name}.id`);
      const covered = resourcesOf(infra, "azurerm_subnet_network_security_group_association").map((association) => expr(association.body.subnet_id));
      for (const subnet of subnets) expect(covered.some((text) => text.includes(subnet)), subnet).toBe(true);
    });

    it("lets nothing in to the app subnet", () => {
      expect(rules("app").filter((rule) => rule.direction === "Inbound" && rule.access === "Allow")).toEqual([]);
      expect(denyAllInbound("app")).toBe(true);
    });

    it("lets only the app subnet reach the private endpoints, on HTTPS and AMQP", () => {
      const allowed = rules("private_endpoints").filter((rule) => rule.direction === "Inbound" && rule.access === "Allow");
      expect(allowed).toHaveLength(1);
      const [rule] = allowed;
      expect(refersTo(rule?.source_address_prefixes, "azurerm_subnet.app.address_prefixes")).toBe(true);
      expect(rule?.destination_port_ranges).toEqual(["443", "5671", "5672"]);
      expect(rule?.protocol).toBe("Tcp");
      expect(denyAllInbound("private_endpoints")).toBe(true);
      // Network policies must be on for an NSG to apply to private endpoints.
      expect(resource(infra, "azurerm_subnet", "private_endpoints").private_endpoint_network_policies).toBe("Enabled");
    });
  });
});
