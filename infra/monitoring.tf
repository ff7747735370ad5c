# Two workspaces, so each retention is enforced by the workspace itself: diagnostic settings
# send the `audit` category group to the audit workspace and `allLogs` (request/response and
# operational logs) to the operations workspace, which Application Insights also uses.
resource "azurerm_log_analytics_workspace" "ops" {
  name                         = local.names.ops_workspace
  location                     = azurerm_resource_group.main.location
  resource_group_name          = azurerm_resource_group.main.name
  sku                          = "PerGB2018"
  retention_in_days            = var.request_log_retention_days
  local_authentication_enabled = false
  tags                         = local.tags
}

resource "azurerm_log_analytics_workspace" "audit" {
  name                         = local.names.audit_workspace
  location                     = azurerm_resource_group.main.location
  resource_group_name          = azurerm_resource_group.main.name
  sku                          = "PerGB2018"
  retention_in_days            = var.audit_log_retention_days
  local_authentication_enabled = false
  tags                         = local.tags
}

# Azure OpenAI and the storage services log to AzureDiagnostics / Storage*Logs; pin those tables'
# retention explicitly so a change of the workspace default cannot shorten audit evidence.
resource "azurerm_log_analytics_workspace_table" "audit" {
  for_each                = toset(["AzureDiagnostics", "StorageBlobLogs", "StorageTableLogs", "AZKVAuditLogs", "AZMSRuntimeAuditLogs"])
  workspace_id            = azurerm_log_analytics_workspace.audit.id
  name                    = each.value
  retention_in_days       = var.audit_log_retention_days
  total_retention_in_days = var.audit_log_retention_days
}

resource "azurerm_application_insights" "main" {
  name                = local.names.app_insights
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  application_type    = "Node.JS"
  workspace_id        = azurerm_log_analytics_workspace.ops.id
  # Entra ID only: telemetry is accepted from the app's identity (Monitoring Metrics Publisher),
  # never from anyone who learns the instrumentation key.
  local_authentication_disabled = true
  tags                          = local.tags
}
