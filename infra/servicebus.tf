# Premium: the tier that supports private endpoints.
resource "azurerm_servicebus_namespace" "main" {
  name                         = local.names.servicebus
  location                     = azurerm_resource_group.main.location
  resource_group_name          = azurerm_resource_group.main.name
  sku                          = "Premium"
  capacity                     = var.servicebus_capacity
  premium_messaging_partitions = 1

  # Entra ID only (no SAS keys), private only, TLS 1.2.
  local_auth_enabled            = false
  public_network_access_enabled = false
  minimum_tls_version           = "1.2"

  tags = local.tags
}

# One session per audit chain: the chain id is the session id, so one consumer appends a chain at
# a time and in order.
resource "azurerm_servicebus_queue" "audit" {
  name         = var.audit_queue_name
  namespace_id = azurerm_servicebus_namespace.main.id

  requires_session                        = true
  dead_lettering_on_message_expiration    = true
  max_delivery_count                      = var.audit_queue_max_delivery_count
  lock_duration                           = var.audit_queue_lock_duration
  default_message_ttl                     = var.audit_queue_message_ttl
  requires_duplicate_detection            = true
  duplicate_detection_history_time_window = "PT10M"
}

resource "azurerm_private_endpoint" "servicebus" {
  name                = "pe-${local.names.servicebus}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  subnet_id           = azurerm_subnet.private_endpoints.id
  tags                = local.tags

  private_service_connection {
    name                           = "namespace"
    private_connection_resource_id = azurerm_servicebus_namespace.main.id
    subresource_names              = ["namespace"]
    is_manual_connection           = false
  }

  private_dns_zone_group {
    name                 = "servicebus"
    private_dns_zone_ids = [azurerm_private_dns_zone.zones["servicebus"].id]
  }
}

resource "azurerm_monitor_diagnostic_setting" "servicebus_audit" {
  name                           = "audit-to-audit-workspace"
  target_resource_id             = azurerm_servicebus_namespace.main.id
  log_analytics_workspace_id     = azurerm_log_analytics_workspace.audit.id
  log_analytics_destination_type = "Dedicated"

  enabled_log {
    category_group = "audit"
  }
}

resource "azurerm_monitor_diagnostic_setting" "servicebus_all" {
  name                           = "all-to-ops-workspace"
  target_resource_id             = azurerm_servicebus_namespace.main.id
  log_analytics_workspace_id     = azurerm_log_analytics_workspace.ops.id
  log_analytics_destination_type = "Dedicated"

  enabled_log {
    category_group = "allLogs"
  }
}
