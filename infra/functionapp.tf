resource "azurerm_service_plan" "main" {
  name                = local.names.plan
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  os_type             = "Linux"
  sku_name            = "FC1"
  tags                = local.tags
}

locals {
  # Everything the app reads (docs/conventions.md), in identity-based form: endpoints, names and
  # the client id of a user-assigned identity; never a key or a connection string with a secret.
  app_settings = {
    AzureWebJobsStorage__accountName = azurerm_storage_account.main.name
    AzureWebJobsStorage__credential  = "managedidentity"
    AzureWebJobsStorage__clientId    = azurerm_user_assigned_identity.app.client_id

    # The Service Bus trigger binding's connection (connection: "ServiceBus").
    ServiceBus__fullyQualifiedNamespace = "${azurerm_servicebus_namespace.main.name}.servicebus.windows.net"
    ServiceBus__credential              = "managedidentity"
    ServiceBus__clientId                = azurerm_user_assigned_identity.app.client_id

    AZURE_STORAGE_TABLE_ENDPOINT         = azurerm_storage_account.main.primary_table_endpoint
    AZURE_STORAGE_BLOB_ENDPOINT          = azurerm_storage_account.main.primary_blob_endpoint
    SERVICEBUS_FULLY_QUALIFIED_NAMESPACE = "${azurerm_servicebus_namespace.main.name}.servicebus.windows.net"
    SERVICEBUS_AUDIT_QUEUE               = azurerm_servicebus_queue.audit.name
    AZURE_KEYVAULT_URL                   = azurerm_key_vault.main.vault_uri
    CONTENT_SAFETY_ENDPOINT              = azurerm_cognitive_account.content_safety.endpoint
    AZURE_CLIENT_ID                      = azurerm_user_assigned_identity.app.client_id
    # The separate identity the rotateKeys timer uses for Key Vault writes and key regeneration.
    PALISADE_ROTATION_CLIENT_ID = azurerm_user_assigned_identity.rotation.client_id

    PALISADE_POLICY                       = var.policy_path
    PALISADE_AUDIT_DIGEST_SECRET          = var.audit_digest_secret_name
    PALISADE_CHECKPOINT_KEY               = azurerm_key_vault_key.checkpoint.name
    PALISADE_CHECKPOINT_CONTAINER         = azurerm_storage_container.checkpoints.name
    PALISADE_CHECKPOINT_EVERY             = tostring(var.checkpoint_every)
    PALISADE_CHECKPOINT_EVERY_IN_MS       = "300000"
    PALISADE_COMPLIANCE_CONTAINER         = azurerm_storage_container.compliance.name
    PALISADE_ARM_BASE_URL                 = "https://management.azure.com"
    PALISADE_OPENAI_ADMIN_BASE_URL        = "https://api.openai.com/v1"
    PALISADE_OPENAI_ADMIN_KEY_SECRET      = "openai-admin-key"
    PALISADE_ROTATION_LEASE_IN_MS         = "600000"
    KEY_EXPIRY_CHECK_SCHEDULE             = var.schedules.key_expiry_check
    ROTATE_KEYS_SCHEDULE                  = var.schedules.rotate_keys
    COMPLIANCE_SCHEDULE                   = var.schedules.compliance
    AUDIT_OUTBOX_SCHEDULE                 = var.schedules.audit_outbox
    AUDIT_DEAD_LETTER_REPLAY_SCHEDULE     = var.schedules.audit_dead_letter_replay
    STORED_RESPONSE_OWNERS_PURGE_SCHEDULE = var.schedules.stored_response_owners_purge
    # Stored Responses' owner records count this long (OpenAI keeps stored Responses 30 days), then are purged.
    PALISADE_STORED_RESPONSE_RETENTION_IN_DAYS = tostring(var.stored_response_retention_in_days)
    # Audit under faults (docs/audit.md): bounded Table tries, the dependency breaker, the publish
    # timeout, and how long the audit trigger holds a batch through a storage outage (under functionTimeout).
    PALISADE_STORAGE_TRY_TIMEOUT_IN_MS   = "4000"
    PALISADE_STORAGE_MAX_RETRIES         = "1"
    PALISADE_STORAGE_RETRY_DELAY_IN_MS   = "250"
    PALISADE_DEPENDENCY_OPEN_FOR_IN_MS   = "2000"
    PALISADE_AUDIT_PUBLISH_TIMEOUT_IN_MS = "2000"
    PALISADE_AUDIT_APPEND_HOLD_IN_MS     = "240000"
    # "on" runs the audit append in a worker thread beside the HTTP thread: for instances with more than one core (docs/audit.md).
    PALISADE_AUDIT_APPEND_WORKER               = "off"
    PALISADE_AUDIT_APPEND_WORKER_TIMEOUT_IN_MS = "120000"
    # At light load, the append's, the checkpoint's and the usage flush's slices wait up to this long for a gap between requests (docs/audit.md).
    PALISADE_AUDIT_GIVE_WAY_IN_MS = "0"
    PALISADE_LOG_LEVEL            = var.log_level

    PALISADE_TELEMETRY_EXPORTER = "azure-monitor"

    PALISADE_TRACE_SAMPLE_RATIO = "0.01"
    # Node flags for the worker: collect the old generation when it has grown by half (V8's
    # default lets it grow up to 4x between collections under load). Measured: peak RSS under load
    # roughly halves at no measurable CPU cost (docs/benchmarks.md). The bench runs with the same flags.
    languageWorkers__node__arguments = "--heap-growing-percent=50"

    # Limits: lease 5% of a limit ahead, write settled usage once a second (docs/limits.md).
    PALISADE_LIMITS_LEASE_FRACTION     = "0.05"
    PALISADE_LIMITS_SETTLE_EVERY_IN_MS = "1000"
    PALISADE_LIMITS_HOLD_EXPIRY_IN_MS  = "60000"
    # APPLICATIONINSIGHTS_CONNECTION_STRING is set by site_config below (the provider owns that
    # setting); the connection string carries no secret once local authentication is disabled.
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING = "ClientId=${azurerm_user_assigned_identity.app.client_id};Authorization=AAD"
  }
}

resource "azurerm_function_app_flex_consumption" "main" {
  name                = local.names.function_app
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  service_plan_id     = azurerm_service_plan.main.id

  runtime_name           = "node"
  runtime_version        = var.node_version
  maximum_instance_count = var.function_maximum_instance_count
  instance_memory_in_mb  = var.function_instance_memory_in_mb

  # The deployment package is read with the app's identity, not a storage key.
  storage_container_type            = "blobContainer"
  storage_container_endpoint        = "${azurerm_storage_account.main.primary_blob_endpoint}${azurerm_storage_container.deployment.name}"
  storage_authentication_type       = "UserAssignedIdentity"
  storage_user_assigned_identity_id = azurerm_user_assigned_identity.app.id

  # Outbound traffic goes through the VNet to the private endpoints.
  virtual_network_subnet_id = azurerm_subnet.app.id

  https_only                                     = true
  public_network_access_enabled                  = var.function_public_network_access_enabled
  webdeploy_publish_basic_authentication_enabled = false

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.app.id, azurerm_user_assigned_identity.rotation.id]
  }

  key_vault_reference_identity_id = azurerm_user_assigned_identity.app.id

  app_settings = local.app_settings

  site_config {
    application_insights_connection_string = azurerm_application_insights.main.connection_string
    minimum_tls_version                    = "1.2"
    scm_minimum_tls_version                = "1.2"
    http2_enabled                          = true
    remote_debugging_enabled               = false
  }

  tags = local.tags

  # Data-plane roles must exist before the host starts and reaches for storage and Service Bus.
  depends_on = [
    azurerm_role_assignment.app_storage_blob,
    azurerm_role_assignment.app_storage_table,
    azurerm_role_assignment.app_servicebus_receiver,
    azurerm_role_assignment.app_servicebus_sender,
    azurerm_role_assignment.app_key_vault_secrets,
    azurerm_role_assignment.app_key_vault_crypto,
    azurerm_role_assignment.app_insights_publisher,
    azurerm_private_endpoint.blob,
    azurerm_private_endpoint.table,
    azurerm_private_endpoint.servicebus,
    azurerm_private_endpoint.key_vault,
  ]
}
