# Only what staged key rotation needs: read the keys and regenerate the slot not in use.
# Defined at the resource group so it cannot be assigned outside this deployment; it is assigned
# on each Azure OpenAI account, never on the group.
resource "azurerm_role_definition" "openai_key_rotator" {
  name        = "Palisade OpenAI Key Rotator (${var.name_prefix}-${local.suffix})"
  scope       = azurerm_resource_group.main.id
  description = "List and regenerate Azure OpenAI account keys; nothing else. Used by Palisade's rotateKeys timer."

  permissions {
    actions = [
      "Microsoft.CognitiveServices/accounts/listKeys/action",
      "Microsoft.CognitiveServices/accounts/regenerateKey/action",
    ]
    not_actions = []
  }

  assignable_scopes = [azurerm_resource_group.main.id]
}

# One account per region the policy names; residency travels with it into the outputs and tags.
module "openai" {
  source   = "./modules/openai"
  for_each = var.openai_regions

  name                = "${var.name_prefix}-oai-${each.key}-${local.suffix}"
  location            = each.value.location
  residency           = each.value.residency
  resource_group_name = azurerm_resource_group.main.name
  deployments         = each.value.deployments

  private_endpoint = {
    location            = azurerm_resource_group.main.location
    resource_group_name = azurerm_resource_group.main.name
    subnet_id           = azurerm_subnet.private_endpoints.id
    private_dns_zone_id = azurerm_private_dns_zone.zones["openai"].id
  }

  audit_workspace_id = azurerm_log_analytics_workspace.audit.id
  ops_workspace_id   = azurerm_log_analytics_workspace.ops.id

  app_principal_id            = azurerm_user_assigned_identity.app.principal_id
  rotation_principal_id       = azurerm_user_assigned_identity.rotation.principal_id
  rotation_role_definition_id = azurerm_role_definition.openai_key_rotator.role_definition_resource_id

  tags = local.tags
}
