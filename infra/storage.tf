resource "azurerm_storage_account" "main" {
  name                     = local.names.storage
  location                 = azurerm_resource_group.main.location
  resource_group_name      = azurerm_resource_group.main.name
  account_kind             = "StorageV2"
  account_tier             = "Standard"
  account_replication_type = "ZRS"

  # Identity only: no account keys, no SAS, no anonymous blobs, no local users.
  shared_access_key_enabled       = false
  default_to_oauth_authentication = true
  allow_nested_items_to_be_public = false
  local_user_enabled              = false
  sftp_enabled                    = false

  # Private only: reached through the blob and table private endpoints.
  public_network_access_enabled = false
  https_traffic_only_enabled    = true
  min_tls_version               = "TLS1_2"

  infrastructure_encryption_enabled = true

  network_rules {
    default_action = "Deny"
    bypass         = ["AzureServices"]
  }

  blob_properties {
    # Versioning keeps every overwritten checkpoint and report recoverable.
    versioning_enabled  = true
    change_feed_enabled = true

    delete_retention_policy {
      days = 30
    }

    container_delete_retention_policy {
      days = 30
    }
  }

  tags = local.tags
}

resource "azurerm_storage_table" "tables" {
  for_each           = toset(local.storage_tables)
  name               = each.value
  storage_account_id = azurerm_storage_account.main.id
}

resource "azurerm_storage_container" "checkpoints" {
  name                  = local.containers.checkpoints
  storage_account_id    = azurerm_storage_account.main.id
  container_access_type = "private"
}

# Signed audit checkpoints are write-once: a LOCKED time-based retention policy cannot be shortened
# or removed, not even by an Owner, so whoever can rewrite the audit table cannot rewrite its anchors.
resource "azurerm_storage_container_immutability_policy" "checkpoints" {
  storage_container_resource_manager_id = azurerm_storage_container.checkpoints.id
  immutability_period_in_days           = var.checkpoint_immutability_days
  protected_append_writes_all_enabled   = false
  protected_append_writes_enabled       = false
  locked                                = true
}

resource "azurerm_storage_container" "compliance" {
  name                  = local.containers.compliance
  storage_account_id    = azurerm_storage_account.main.id
  container_access_type = "private"
}

# The Flex Consumption deployment package.
resource "azurerm_storage_container" "deployment" {
  name                  = local.containers.deployment
  storage_account_id    = azurerm_storage_account.main.id
  container_access_type = "private"
}

resource "azurerm_private_endpoint" "blob" {
  name                = "pe-${local.names.storage}-blob"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  subnet_id           = azurerm_subnet.private_endpoints.id
  tags                = local.tags

  private_service_connection {
    name                           = "blob"
    private_connection_resource_id = azurerm_storage_account.main.id
    subresource_names              = ["blob"]
    is_manual_connection           = false
  }

  private_dns_zone_group {
    name                 = "blob"
    private_dns_zone_ids = [azurerm_private_dns_zone.zones["blob"].id]
  }
}

resource "azurerm_private_endpoint" "table" {
  name                = "pe-${local.names.storage}-table"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  subnet_id           = azurerm_subnet.private_endpoints.id
  tags                = local.tags

  private_service_connection {
    name                           = "table"
    private_connection_resource_id = azurerm_storage_account.main.id
    subresource_names              = ["table"]
    is_manual_connection           = false
  }

  private_dns_zone_group {
    name                 = "table"
    private_dns_zone_ids = [azurerm_private_dns_zone.zones["table"].id]
  }
}

resource "azurerm_monitor_diagnostic_setting" "storage_audit" {
  for_each                   = toset(["blobServices", "tableServices"])
  name                       = "audit-to-audit-workspace"
  target_resource_id         = "${azurerm_storage_account.main.id}/${each.value}/default"
  log_analytics_workspace_id = azurerm_log_analytics_workspace.audit.id

  enabled_log {
    category_group = "audit"
  }
}

resource "azurerm_monitor_diagnostic_setting" "storage_all" {
  for_each                   = toset(["blobServices", "tableServices"])
  name                       = "all-to-ops-workspace"
  target_resource_id         = "${azurerm_storage_account.main.id}/${each.value}/default"
  log_analytics_workspace_id = azurerm_log_analytics_workspace.ops.id

  enabled_log {
    category_group = "allLogs"
  }
}
