# The app's identity: data-plane access only, each role scoped to the one resource it needs.
resource "azurerm_user_assigned_identity" "app" {
  name                = local.names.app_identity
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags
}

# A separate identity for key rotation, so that a bug or compromise in the request path cannot
# regenerate upstream keys or rewrite managed credentials.
resource "azurerm_user_assigned_identity" "rotation" {
  name                = local.names.rotation_id
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags
}
