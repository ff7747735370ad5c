locals {
  # Deterministic, so names are stable across runs without a random provider; unique per
  # subscription and prefix because storage, Key Vault and OpenAI subdomains are global names.
  suffix = substr(sha256("${data.azurerm_client_config.current.subscription_id}/${var.name_prefix}"), 0, 6)

  names = {
    resource_group  = "rg-${var.name_prefix}-palisade"
    vnet            = "vnet-${var.name_prefix}-palisade"
    storage         = "${var.name_prefix}st${local.suffix}"
    servicebus      = "sb-${var.name_prefix}-${local.suffix}"
    key_vault       = "kv-${var.name_prefix}-${local.suffix}"
    plan            = "plan-${var.name_prefix}-palisade"
    function_app    = "func-${var.name_prefix}-palisade-${local.suffix}"
    app_identity    = "id-${var.name_prefix}-palisade-app"
    rotation_id     = "id-${var.name_prefix}-palisade-rotation"
    ops_workspace   = "log-${var.name_prefix}-palisade-ops"
    audit_workspace = "log-${var.name_prefix}-palisade-audit"
    app_insights    = "appi-${var.name_prefix}-palisade"
  }

  tags = merge(var.tags, { application = "palisade" })

  # Every private DNS zone the private endpoints register in; each is linked to the VNet.
  private_dns_zones = {
    blob       = "privatelink.blob.core.windows.net"
    table      = "privatelink.table.core.windows.net"
    servicebus = "privatelink.servicebus.windows.net"
    vault      = "privatelink.vaultcore.azure.net"
    openai     = "privatelink.openai.azure.com"
  }

  # The tables the app reads and writes (see DESIGN.md, "What lasts").
  storage_tables = ["ApiKeys", "UsageCounters", "AuditLog", "AuditOutbox", "AuditDeadLetters", "RotationState", "ResponseCache", "SubjectKeys", "PolicySnapshots", "StoredResponseOwners"]

  containers = {
    checkpoints = "audit-checkpoints"
    compliance  = "compliance-reports"
    deployment  = "app-package"
  }
}

resource "azurerm_resource_group" "main" {
  name     = local.names.resource_group
  location = var.location
  tags     = local.tags
}
