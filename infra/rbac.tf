# Least privilege: data-plane roles only, each scoped to the one resource (or sub-resource) it
# covers. Nothing here is scoped to the resource group or the subscription, and no identity gets
# Owner, Contributor or User Access Administrator. The Azure OpenAI roles live in modules/openai.

# ---- the app identity ----

resource "azurerm_role_assignment" "app_storage_table" {
  scope                            = azurerm_storage_account.main.id
  role_definition_name             = "Storage Table Data Contributor"
  principal_id                     = azurerm_user_assigned_identity.app.principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

# Host storage (AzureWebJobsStorage), the deployment package, checkpoints and compliance reports.
# Checkpoint blobs stay write-once whatever this role allows: the container's policy is locked.
resource "azurerm_role_assignment" "app_storage_blob" {
  scope                            = azurerm_storage_account.main.id
  role_definition_name             = "Storage Blob Data Contributor"
  principal_id                     = azurerm_user_assigned_identity.app.principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

resource "azurerm_role_assignment" "app_servicebus_sender" {
  scope                            = azurerm_servicebus_queue.audit.id
  role_definition_name             = "Azure Service Bus Data Sender"
  principal_id                     = azurerm_user_assigned_identity.app.principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

resource "azurerm_role_assignment" "app_servicebus_receiver" {
  scope                            = azurerm_servicebus_queue.audit.id
  role_definition_name             = "Azure Service Bus Data Receiver"
  principal_id                     = azurerm_user_assigned_identity.app.principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

# Read managed credentials and the audit digest key; no writes.
resource "azurerm_role_assignment" "app_key_vault_secrets" {
  scope                            = azurerm_key_vault.main.id
  role_definition_name             = "Key Vault Secrets User"
  principal_id                     = azurerm_user_assigned_identity.app.principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

# Sign checkpoints with the one key, not with every key in the vault.
resource "azurerm_role_assignment" "app_key_vault_crypto" {
  scope                            = azurerm_key_vault_key.checkpoint.resource_manager_versionless_id
  role_definition_name             = "Key Vault Crypto User"
  principal_id                     = azurerm_user_assigned_identity.app.principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

# Entra-authenticated telemetry ingestion (local authentication is disabled on the component).
resource "azurerm_role_assignment" "app_insights_publisher" {
  scope                            = azurerm_application_insights.main.id
  role_definition_name             = "Monitoring Metrics Publisher"
  principal_id                     = azurerm_user_assigned_identity.app.principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

# ---- the rotation identity ----

# Writes new secret versions and retags rotation stages. Key regeneration on each Azure OpenAI
# account comes from the custom role assigned in modules/openai.
resource "azurerm_role_assignment" "rotation_key_vault_secrets" {
  scope                            = azurerm_key_vault.main.id
  role_definition_name             = "Key Vault Secrets Officer"
  principal_id                     = azurerm_user_assigned_identity.rotation.principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

# ---- the identity running Terraform ----

# Only to create the checkpoint-signing key; scoped to the vault.
resource "azurerm_role_assignment" "deployer_key_vault_crypto_officer" {
  count                = var.grant_deployer_key_access ? 1 : 0
  scope                = azurerm_key_vault.main.id
  role_definition_name = "Key Vault Crypto Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}
