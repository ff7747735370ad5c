variable "name" {
  description = "Name of the Azure OpenAI account; also its custom subdomain (<name>.openai.azure.com)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,62}[a-z0-9]$", var.name))
    error_message = "name must be 3-64 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "location" {
  description = "Region of the account (where prompts are processed)."
  type        = string
}

variable "residency" {
  description = "Data residency the policy assigns to this endpoint (eu, us, apac, global)."
  type        = string

  validation {
    condition     = contains(["eu", "us", "apac", "global"], var.residency)
    error_message = "residency must be one of eu, us, apac, global."
  }
}

variable "resource_group_name" {
  description = "Resource group of the account."
  type        = string
}

variable "deployments" {
  description = "Model deployments keyed by deployment name."
  type = map(object({
    model_name    = string
    model_version = string
    sku_name      = optional(string, "Standard")
    capacity      = number
  }))

  validation {
    condition     = length(var.deployments) >= 1
    error_message = "Declare at least one deployment."
  }
}

variable "private_endpoint" {
  description = "Where the account's private endpoint goes: the VNet's region, its subnet, and the privatelink.openai.azure.com zone."
  type = object({
    location            = string
    resource_group_name = string
    subnet_id           = string
    private_dns_zone_id = string
  })
}

variable "audit_workspace_id" {
  description = "Log Analytics workspace receiving the audit category group (long retention)."
  type        = string
}

variable "ops_workspace_id" {
  description = "Log Analytics workspace receiving allLogs, including request/response logs (short retention)."
  type        = string
}

variable "app_principal_id" {
  description = "Principal id of the app's identity: gets Cognitive Services OpenAI User on this account."
  type        = string
}

variable "rotation_principal_id" {
  description = "Principal id of the key-rotation identity: gets the regenerate/list-keys custom role on this account."
  type        = string
}

variable "rotation_role_definition_id" {
  description = "Resource id of the custom role that allows only listKeys and regenerateKey."
  type        = string
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
