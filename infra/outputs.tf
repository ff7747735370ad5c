output "resource_group_name" {
  description = "Resource group holding the deployment."
  value       = azurerm_resource_group.main.name
}

output "function_app_name" {
  description = "Function App to publish the package to (az functionapp deploy --name ...)."
  value       = azurerm_function_app_flex_consumption.main.name
}

output "function_app_default_hostname" {
  description = "Default hostname of the gateway: https://<hostname>/api/v1/chat/completions."
  value       = azurerm_function_app_flex_consumption.main.default_hostname
}

output "key_vault_uri" {
  description = "Key Vault URI (AZURE_KEYVAULT_URL); seed the audit digest secret here."
  value       = azurerm_key_vault.main.vault_uri
}

output "key_vault_name" {
  description = "Key Vault name, for az keyvault commands."
  value       = azurerm_key_vault.main.name
}

output "storage_account_name" {
  description = "Storage account name."
  value       = azurerm_storage_account.main.name
}

output "storage_table_endpoint" {
  description = "AZURE_STORAGE_TABLE_ENDPOINT."
  value       = azurerm_storage_account.main.primary_table_endpoint
}

output "storage_blob_endpoint" {
  description = "AZURE_STORAGE_BLOB_ENDPOINT."
  value       = azurerm_storage_account.main.primary_blob_endpoint
}

output "checkpoint_container_name" {
  description = "Container holding signed, immutable audit checkpoints."
  value       = azurerm_storage_container.checkpoints.name
}

output "servicebus_namespace_fqdn" {
  description = "SERVICEBUS_FULLY_QUALIFIED_NAMESPACE."
  value       = "${azurerm_servicebus_namespace.main.name}.servicebus.windows.net"
}

output "servicebus_audit_queue" {
  description = "SERVICEBUS_AUDIT_QUEUE."
  value       = azurerm_servicebus_queue.audit.name
}

output "app_identity_client_id" {
  description = "Client id of the app's user-assigned identity (AZURE_CLIENT_ID)."
  value       = azurerm_user_assigned_identity.app.client_id
}

output "rotation_identity_client_id" {
  description = "Client id of the key-rotation identity (PALISADE_ROTATION_CLIENT_ID)."
  value       = azurerm_user_assigned_identity.rotation.client_id
}

output "openai_endpoints" {
  description = "Azure OpenAI endpoints by region key, with location, residency and deployments: copy them into the policy's endpoints."
  value = {
    for key, account in module.openai : key => {
      endpoint    = account.endpoint
      location    = account.location
      residency   = account.residency
      deployments = account.deployments
    }
  }
}

output "application_insights_name" {
  description = "Application Insights component receiving the app's telemetry."
  value       = azurerm_application_insights.main.name
}
