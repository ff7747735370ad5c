# Azure AI Content Safety: Prompt Shields and harm categories for the gateway (docs/content-safety.md).
# Private only, Entra ID only: the app calls it with its managed identity, as Cognitive Services User
# on this account and nothing more.

resource "azurerm_cognitive_account" "content_safety" {
  name                  = "${var.name_prefix}-cs-${local.suffix}"
  location              = azurerm_resource_group.main.location
  resource_group_name   = azurerm_resource_group.main.name
  kind                  = "ContentSafety"
  sku_name              = "S0"
  custom_subdomain_name = "${var.name_prefix}-cs-${local.suffix}"

  local_auth_enabled                 = false
  public_network_access_enabled      = false
  outbound_network_access_restricted = true

  network_acls {
    default_action = "Deny"
  }

  tags = local.tags
}

# Cognitive Services accounts other than OpenAI resolve through this zone over private link.
resource "azurerm_private_dns_zone" "content_safety" {
  name                = "privatelink.cognitiveservices.azure.com"
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags
}

resource "azurerm_private_dns_zone_virtual_network_link" "content_safety" {
  name                  = "link-cognitiveservices"
  resource_group_name   = azurerm_resource_group.main.name
  private_dns_zone_name = azurerm_private_dns_zone.content_safety.name
  virtual_network_id    = azurerm_virtual_network.main.id
  registration_enabled  = false
  tags                  = local.tags
}

resource "azurerm_private_endpoint" "content_safety" {
  name                = "pe-${azurerm_cognitive_account.content_safety.name}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  subnet_id           = azurerm_subnet.private_endpoints.id
  tags                = local.tags

  private_service_connection {
    name                           = "account"
    private_connection_resource_id = azurerm_cognitive_account.content_safety.id
    subresource_names              = ["account"]
    is_manual_connection           = false
  }

  private_dns_zone_group {
    name                 = "cognitiveservices"
    private_dns_zone_ids = [azurerm_private_dns_zone.content_safety.id]
  }
}

# Screening calls only: Cognitive Services User, on this account (no key listing, no management).
resource "azurerm_role_assignment" "app_content_safety_user" {
  scope                            = azurerm_cognitive_account.content_safety.id
  role_definition_name             = "Cognitive Services User"
  principal_id                     = azurerm_user_assigned_identity.app.principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

resource "azurerm_monitor_diagnostic_setting" "content_safety_audit" {
  name                       = "audit-to-audit-workspace"
  target_resource_id         = azurerm_cognitive_account.content_safety.id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.audit.id

  enabled_log {
    category_group = "audit"
  }
}

resource "azurerm_monitor_diagnostic_setting" "content_safety_all" {
  name                       = "all-to-ops-workspace"
  target_resource_id         = azurerm_cognitive_account.content_safety.id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.ops.id

  enabled_log {
    category_group = "allLogs"
  }
}
