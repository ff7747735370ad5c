variable "subscription_id" {
  description = "Subscription to deploy into (azurerm 4.x requires it explicitly, or ARM_SUBSCRIPTION_ID)."
  type        = string
  default     = null

  validation {
    condition     = var.subscription_id == null || can(regex("^[0-9a-fA-F-]{36}$", var.subscription_id))
    error_message = "subscription_id must be a subscription GUID, or null to read ARM_SUBSCRIPTION_ID."
  }
}

variable "location" {
  description = "Azure region for the resource group, network, Function App, storage, Service Bus and Key Vault (for example westeurope)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+[a-z0-9]*$", var.location))
    error_message = "location must be a region name such as westeurope or eastus2 (lowercase, no spaces)."
  }
}

variable "name_prefix" {
  description = "Short prefix for every resource name: 3-10 lowercase letters or digits, starting with a letter (storage and Key Vault names are built from it)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,9}$", var.name_prefix))
    error_message = "name_prefix must be 3-10 lowercase letters or digits and start with a letter."
  }
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "vnet_address_space" {
  description = "Address space of the virtual network. The Function App integration subnet and the private endpoint subnet are carved out of its first block."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.vnet_address_space, 0)) && tonumber(split("/", var.vnet_address_space)[1]) <= 24
    error_message = "vnet_address_space must be an IPv4 CIDR block of /24 or larger, for example 10.40.0.0/16."
  }
}

variable "openai_regions" {
  description = <<-EOT
    Azure OpenAI accounts, one per region the policy names, keyed by a short id (used in names).
    residency is the data residency the policy assigns to the endpoint (eu, us, apac, global);
    deployments maps a deployment name to its model and capacity (thousands of tokens per minute).
  EOT
  type = map(object({
    location  = string
    residency = string
    deployments = map(object({
      model_name    = string
      model_version = string
      sku_name      = optional(string, "Standard")
      capacity      = number
    }))
  }))

  validation {
    condition     = length(var.openai_regions) >= 1 && alltrue([for k, _ in var.openai_regions : can(regex("^[a-z][a-z0-9]{1,9}$", k))])
    error_message = "openai_regions needs at least one entry, each keyed by 2-10 lowercase letters or digits (for example eu1, us1)."
  }

  validation {
    condition     = alltrue([for r in values(var.openai_regions) : contains(["eu", "us", "apac", "global"], r.residency)])
    error_message = "Each openai_regions entry's residency must be one of eu, us, apac, global (the residencies the policy knows)."
  }

  validation {
    condition     = alltrue([for r in values(var.openai_regions) : length(r.deployments) >= 1 && alltrue([for d in values(r.deployments) : d.capacity >= 1 && contains(["Standard", "DataZoneStandard", "GlobalStandard", "ProvisionedManaged", "DataZoneProvisionedManaged"], d.sku_name)])])
    error_message = "Each region needs at least one deployment with capacity >= 1 and a sku_name of Standard, DataZoneStandard, GlobalStandard, ProvisionedManaged or DataZoneProvisionedManaged."
  }
}

variable "audit_log_retention_days" {
  description = "Days the audit category group of every diagnostic setting (Key Vault, Service Bus, Storage, Azure OpenAI) is kept in the audit Log Analytics workspace."
  type        = number
  default     = 365

  validation {
    condition     = var.audit_log_retention_days >= 365 && var.audit_log_retention_days <= 730
    error_message = "audit_log_retention_days must be between 365 and 730: audit evidence is kept for at least a year."
  }
}

variable "request_log_retention_days" {
  description = "Days request/response and operational logs (category group allLogs) and Application Insights telemetry are kept."
  type        = number
  default     = 90

  validation {
    condition     = var.request_log_retention_days >= 30 && var.request_log_retention_days <= var.audit_log_retention_days
    error_message = "request_log_retention_days must be at least 30 and no longer than audit_log_retention_days."
  }
}

variable "checkpoint_immutability_days" {
  description = "Days every signed audit checkpoint is kept write-once (locked time-based retention on the checkpoint container)."
  type        = number
  default     = 2555

  validation {
    condition     = var.checkpoint_immutability_days >= 365 && var.checkpoint_immutability_days <= 146000
    error_message = "checkpoint_immutability_days must be between 365 and 146000: checkpoints outlive the audit logs they anchor."
  }
}

variable "node_version" {
  description = "Node.js major version of the Flex Consumption runtime (the app needs 20.19 or later)."
  type        = string
  default     = "20"

  validation {
    condition     = contains(["20", "22"], var.node_version)
    error_message = "node_version must be 20 or 22."
  }
}

variable "function_maximum_instance_count" {
  description = "Maximum number of Flex Consumption instances the app scales out to."
  type        = number
  default     = 40

  validation {
    condition     = var.function_maximum_instance_count >= 1 && var.function_maximum_instance_count <= 1000
    error_message = "function_maximum_instance_count must be between 1 and 1000."
  }
}

variable "function_instance_memory_in_mb" {
  description = "Instance memory of the Flex Consumption plan."
  type        = number
  default     = 2048

  validation {
    condition     = contains([512, 2048, 4096], var.function_instance_memory_in_mb)
    error_message = "function_instance_memory_in_mb must be 512, 2048 or 4096."
  }
}

variable "function_public_network_access_enabled" {
  description = "Whether client applications reach the gateway over the internet (HTTPS only). Set false when clients come in through a private endpoint or a front door of your own."
  type        = bool
  default     = true
}

variable "servicebus_capacity" {
  description = "Service Bus Premium messaging units (Premium is required for private endpoints)."
  type        = number
  default     = 1

  validation {
    condition     = contains([1, 2, 4, 8, 16], var.servicebus_capacity)
    error_message = "servicebus_capacity must be 1, 2, 4, 8 or 16 messaging units."
  }
}

variable "audit_queue_name" {
  description = "Name of the session-enabled audit queue (SERVICEBUS_AUDIT_QUEUE)."
  type        = string
  default     = "audit-events"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,49}$", var.audit_queue_name))
    error_message = "audit_queue_name must be 3-50 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "audit_queue_max_delivery_count" {
  description = "Deliveries of an audit batch before Service Bus dead-letters it."
  type        = number
  default     = 10

  validation {
    condition     = var.audit_queue_max_delivery_count >= 3 && var.audit_queue_max_delivery_count <= 100
    error_message = "audit_queue_max_delivery_count must be between 3 and 100."
  }
}

variable "audit_queue_lock_duration" {
  description = "Peek-lock duration of the audit queue (ISO 8601, at most PT5M)."
  type        = string
  default     = "PT1M"

  validation {
    condition     = can(regex("^PT([1-4]M|5M|[1-9][0-9]?S)$", var.audit_queue_lock_duration))
    error_message = "audit_queue_lock_duration must be an ISO 8601 duration between PT1S and PT5M, for example PT1M."
  }
}

variable "audit_queue_message_ttl" {
  description = "Time an audit message may wait before it expires and is dead-lettered (ISO 8601)."
  type        = string
  default     = "P14D"

  validation {
    condition     = can(regex("^P([0-9]+D)?(T([0-9]+H)?([0-9]+M)?([0-9]+S)?)?$", var.audit_queue_message_ttl)) && var.audit_queue_message_ttl != "P"
    error_message = "audit_queue_message_ttl must be an ISO 8601 duration such as P14D."
  }
}

variable "policy_path" {
  description = "PALISADE_POLICY: path of the policy file inside the deployed package."
  type        = string
  default     = "config/policy.yaml"
}

variable "audit_digest_secret_name" {
  description = "PALISADE_AUDIT_DIGEST_SECRET: Key Vault secret holding the HMAC key for content digests (seeded after deployment)."
  type        = string
  default     = "audit-digest-key"

  validation {
    condition     = can(regex("^[a-zA-Z0-9-]{1,127}$", var.audit_digest_secret_name))
    error_message = "audit_digest_secret_name must be 1-127 letters, digits or hyphens."
  }
}

variable "checkpoint_key_name" {
  description = "PALISADE_CHECKPOINT_KEY: Key Vault EC P-256 key that signs audit checkpoints."
  type        = string
  default     = "audit-checkpoint"

  validation {
    condition     = can(regex("^[a-zA-Z0-9-]{1,127}$", var.checkpoint_key_name))
    error_message = "checkpoint_key_name must be 1-127 letters, digits or hyphens."
  }
}

variable "checkpoint_every" {
  description = "PALISADE_CHECKPOINT_EVERY: sign a checkpoint every N audit entries."
  type        = number
  default     = 1000

  validation {
    condition     = var.checkpoint_every >= 1 && floor(var.checkpoint_every) == var.checkpoint_every
    error_message = "checkpoint_every must be a positive whole number."
  }
}

variable "schedules" {
  description = "NCRONTAB schedules (six fields, seconds first) of the timer functions."
  type = object({
    key_expiry_check             = optional(string, "0 0 */6 * * *")
    rotate_keys                  = optional(string, "0 30 * * * *")
    compliance                   = optional(string, "0 0 2 * * *")
    audit_outbox                 = optional(string, "0 * * * * *")
    audit_dead_letter_replay     = optional(string, "0 */5 * * * *")
    stored_response_owners_purge = optional(string, "0 20 * * * *")
  })
  default = {}

  validation {
    condition     = alltrue([for s in values(var.schedules) : length(split(" ", trimspace(s))) == 6])
    error_message = "Each schedule must be an NCRONTAB expression with six fields (seconds minutes hours day month day-of-week)."
  }
}

variable "log_level" {
  description = "PALISADE_LOG_LEVEL."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be debug, info, warn or error."
  }
}

variable "grant_deployer_key_access" {
  description = "Grant the identity running Terraform Key Vault Crypto Officer on the vault, so it can create the checkpoint-signing key. Turn off when the key is created by another process."
  type        = bool
  default     = true
}

variable "alert_emails" {
  description = "Email addresses the operations action group notifies for audit-trail alerts (infra/alerts.tf). Empty: alerts fire without email; add receivers to the action group."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for email in var.alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", email))])
    error_message = "Each entry of alert_emails must be an email address."
  }
}

variable "checkpoint_key_lifetime_in_days" {
  description = "Lifetime of each version of the checkpoint-signing key; Key Vault notifies 30 days before the pinned version expires, and an operator rotates with `palisade audit rotate-key` (old versions stay for verifiers)."
  type        = number
  default     = 365

  validation {
    condition     = var.checkpoint_key_lifetime_in_days >= 60 && var.checkpoint_key_lifetime_in_days <= 730 && floor(var.checkpoint_key_lifetime_in_days) == var.checkpoint_key_lifetime_in_days
    error_message = "checkpoint_key_lifetime_in_days must be a whole number of days from 60 (more than the 30-day notice) to 730."
  }
}

variable "stored_response_retention_in_days" {
  description = "PALISADE_STORED_RESPONSE_RETENTION_IN_DAYS: how long a stored Response's owner record counts (OpenAI keeps stored Responses 30 days); expired records are purged hourly."
  type        = number
  default     = 30

  validation {
    condition     = var.stored_response_retention_in_days >= 1 && var.stored_response_retention_in_days <= 3650 && floor(var.stored_response_retention_in_days) == var.stored_response_retention_in_days
    error_message = "stored_response_retention_in_days must be a whole number of days from 1 to 3650."
  }
}
