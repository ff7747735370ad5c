resource "azurerm_key_vault" "main" {
  name                = local.names.key_vault
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  tenant_id           = data.azurerm_client_config.current.tenant_id
  sku_name            = "standard"

  # Azure RBAC, not access policies: every grant is a scoped role assignment in rbac.tf.
  rbac_authorization_enabled = true

  # Deleted secrets and keys stay recoverable for 90 days and cannot be purged early.
  purge_protection_enabled   = true
  soft_delete_retention_days = 90

  public_network_access_enabled   = false
  enabled_for_deployment          = false
  enabled_for_disk_encryption     = false
  enabled_for_template_deployment = false

  network_acls {
    default_action = "Deny"
    bypass         = "None"
  }

  tags = local.tags
}

# Signs audit checkpoints (ES256). Key Vault has no Ed25519; the private half never leaves the vault.
# Creating it is a data-plane call: Terraform must run where the vault's private endpoint resolves.
resource "azurerm_key_vault_key" "checkpoint" {
  name         = var.checkpoint_key_name
  key_vault_id = azurerm_key_vault.main.id
  key_type     = "EC"
  curve        = "P-256"
  key_opts     = ["sign", "verify"]

  # The first version expires after the key lifetime; Terraform sets it once (below, ignore_changes).
  # Verifiers trust only PINNED versions (docs/audit.md, "Trust in the checkpoint key"), and a version is
  # pinned only by `palisade audit rotate-key`, signed by the previous pinned one. So Key Vault does not
  # rotate on its own (a version it made would never be pinned nor used); the policy gives each version
  # made by rotate-key the same lifetime, and Key Vault notifies (Event Grid) 30 days before expiry: rotate
  # then. Old versions are never disabled, and Key Vault still allows `verify` with an expired version,
  # so checkpoints signed by any earlier pinned version stay verifiable.
  expiration_date = timeadd(timestamp(), "${var.checkpoint_key_lifetime_in_days * 24}h")

  rotation_policy {
    expire_after         = "P${var.checkpoint_key_lifetime_in_days}D"
    notify_before_expiry = "P30D"
  }

  lifecycle {
    ignore_changes = [expiration_date]
  }

  depends_on = [
    azurerm_role_assignment.deployer_key_vault_crypto_officer,
    azurerm_private_endpoint.key_vault,
  ]
}

resource "azurerm_private_endpoint" "key_vault" {
  name                = "pe-${local.names.key_vault}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  subnet_id           = azurerm_subnet.private_endpoints.id
  tags                = local.tags

  private_service_connection {
    name                           = "vault"
    private_connection_resource_id = azurerm_key_vault.main.id
    subresource_names              = ["vault"]
    is_manual_connection           = false
  }

  private_dns_zone_group {
    name                 = "vault"
    private_dns_zone_ids = [azurerm_private_dns_zone.zones["vault"].id]
  }
}

resource "azurerm_monitor_diagnostic_setting" "key_vault_audit" {
  name                           = "audit-to-audit-workspace"
  target_resource_id             = azurerm_key_vault.main.id
  log_analytics_workspace_id     = azurerm_log_analytics_workspace.audit.id
  log_analytics_destination_type = "Dedicated"

  enabled_log {
    category_group = "audit"
  }
}

resource "azurerm_monitor_diagnostic_setting" "key_vault_all" {
  name                           = "all-to-ops-workspace"
  target_resource_id             = azurerm_key_vault.main.id
  log_analytics_workspace_id     = azurerm_log_analytics_workspace.ops.id
  log_analytics_destination_type = "Dedicated"

  enabled_log {
    category_group = "allLogs"
  }
}
