import { beforeAll, describe, expect, it } from "vitest";
import { block, expr, type Infra, loadInfra, localsOf, refersTo, resource, resourcesOf } from "./hcl.js";

const ACCOUNT = "azurerm_cognitive_account.content_safety.id";

describe("content safety policy", () => {
  let infra: Infra;
  beforeAll(async () => {
    infra = await loadInfra();
  });

  it("creates a Content Safety account with local auth off and public access off", () => {
    const account = resource(infra, "azurerm_cognitive_account", "content_safety");
    expect(account.kind).toBe("ContentSafety");
    expect(account.local_auth_enabled).toBe(false);
    expect(account.public_network_access_enabled).toBe(false);
    expect(block(account, "network_acls").default_action).toBe("Deny");
    expect(account.custom_subdomain_name).toBeDefined();
  });

  it("reaches it only through a private endpoint in the private-endpoint subnet, with its private DNS zone linked to the network", () => {
    const endpoint = resource(infra, "azurerm_private_endpoint", "content_safety");
    expect(expr(endpoint.subnet_id)).toBe("azurerm_subnet.private_endpoints.id");
    const connection = block(endpoint, "private_service_connection");
    expect(expr(connection.private_connection_resource_id)).toBe(ACCOUNT);
    expect(connection.subresource_names).toEqual(["account"]);
    expect(refersTo(block(endpoint, "private_dns_zone_group").private_dns_zone_ids, "azurerm_private_dns_zone.content_safety.id")).toBe(true);
    expect(resource(infra, "azurerm_private_dns_zone", "content_safety").name).toBe("privatelink.cognitiveservices.azure.com");
    expect(expr(resource(infra, "azurerm_private_dns_zone_virtual_network_link", "content_safety").virtual_network_id)).toBe("azurerm_virtual_network.main.id");
  });

  it("gives the app's identity Cognitive Services User on the account, and nobody anything else there", () => {
    const onAccount = resourcesOf(infra, "azurerm_role_assignment").filter((assignment) => expr(assignment.body.scope) === ACCOUNT);
    expect(onAccount.map((assignment) => [assignment.name, assignment.body.role_definition_name, expr(assignment.body.principal_id)])).toEqual([
      ["app_content_safety_user", "Cognitive Services User", "azurerm_user_assigned_identity.app.principal_id"],
    ]);
  });

  it("tells the app where it is (no key: the app uses its managed identity)", () => {
    const settings = localsOf(infra).app_settings as Record<string, unknown>;
    expect(expr(settings.CONTENT_SAFETY_ENDPOINT)).toBe("azurerm_cognitive_account.content_safety.endpoint");
    expect(settings.CONTENT_SAFETY_KEY).toBeUndefined();
  });
});
