# The Palisade operations workbook: the ready-made queries of docs/observability.md (requests, tokens
# and cost by project, refusals, DLP findings, failovers, stage latency, breakers, keys near expiry),
# run against the operations workspace that Application Insights writes to. Metadata only: the
# telemetry it reads never holds prompt or completion text.
resource "azurerm_application_insights_workbook" "palisade" {
  # A workbook's name must be a UUID; derived, so it is stable across applies without a random provider.
  name                = uuidv5("url", "https://palisade.invalid/workbooks/${local.names.resource_group}/operations")
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  display_name        = "Palisade operations"
  category            = "workbook"
  source_id           = lower(azurerm_log_analytics_workspace.ops.id)
  data_json           = file("${path.module}/workbook.json")
  tags                = local.tags
}
