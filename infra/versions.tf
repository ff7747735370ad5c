terraform {
  # 1.9+ for validation rules that refer to other variables.
  required_version = ">= 1.9.0"

  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # 4.x: storage tables and containers are created through Resource Manager (storage_account_id),
      # so Terraform never needs a storage key; Key Vault uses rbac_authorization_enabled.
      version = "~> 4.42"
    }
  }
}

provider "azurerm" {
  subscription_id = var.subscription_id

  # Shared keys are disabled on the storage account: any data-plane call the provider makes must
  # use Microsoft Entra ID.
  storage_use_azuread = true

  features {
    key_vault {
      # Purge protection is on: never try to purge, and never silently recover someone else's vault.
      purge_soft_delete_on_destroy    = false
      recover_soft_deleted_key_vaults = false
    }
    resource_group {
      prevent_deletion_if_contains_resources = true
    }
  }
}

data "azurerm_client_config" "current" {}
