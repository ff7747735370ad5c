resource "azurerm_cognitive_account" "this" {
  name                  = var.name
  location              = var.location
  resource_group_name   = var.resource_group_name
  kind                  = "OpenAI"
  sku_name              = "S0"
  custom_subdomain_name = var.name

  # Entra ID only and private only: callers present a token for their identity, over private link.
  local_auth_enabled                 = false
  public_network_access_enabled      = false
  outbound_network_access_restricted = true

  network_acls {
    default_action = "Deny"
  }

  tags = merge(var.tags, { residency = var.residency })
}

resource "azurerm_cognitive_deployment" "this" {
  for_each             = var.deployments
  name                 = each.key
  cognitive_account_id = azurerm_cognitive_account.this.id

  model {
    format  = "OpenAI"
    name    = each.value.model_name
    version = each.value.model_version
  }

  sku {
    name     = each.value.sku_name
    capacity = each.value.capacity
  }
}

resource "azurerm_private_endpoint" "this" {
  name                = "pe-${var.name}"
  location            = var.private_endpoint.location
  resource_group_name = var.private_endpoint.resource_group_name
  subnet_id           = var.private_endpoint.subnet_id
  tags                = var.tags

  private_service_connection {
    name                           = "account"
    private_connection_resource_id = azurerm_cognitive_account.this.id
    subresource_names              = ["account"]
    is_manual_connection           = false
  }

  private_dns_zone_group {
    name                 = "openai"
    private_dns_zone_ids = [var.private_endpoint.private_dns_zone_id]
  }
}

resource "azurerm_monitor_diagnostic_setting" "audit" {
  name                       = "audit-to-audit-workspace"
  target_resource_id         = azurerm_cognitive_account.this.id
  log_analytics_workspace_id = var.audit_workspace_id

  enabled_log {
    category_group = "audit"
  }
}

resource "azurerm_monitor_diagnostic_setting" "all" {
  name                       = "all-to-ops-workspace"
  target_resource_id         = azurerm_cognitive_account.this.id
  log_analytics_workspace_id = var.ops_workspace_id

  enabled_log {
    category_group = "allLogs"
  }
}

# The gateway calls the models with its own identity: inference only, on this account only.
resource "azurerm_role_assignment" "app_openai_user" {
  scope                            = azurerm_cognitive_account.this.id
  role_definition_name             = "Cognitive Services OpenAI User"
  principal_id                     = var.app_principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

# Key rotation may regenerate and read this account's keys, and nothing else.
resource "azurerm_role_assignment" "rotation_keys" {
  scope                            = azurerm_cognitive_account.this.id
  role_definition_id               = var.rotation_role_definition_id
  principal_id                     = var.rotation_principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}
