output "id" {
  description = "Resource id of the account."
  value       = azurerm_cognitive_account.this.id
}

output "endpoint" {
  description = "Endpoint of the account (https://<name>.openai.azure.com/), for the policy's baseUrl."
  value       = azurerm_cognitive_account.this.endpoint
}

output "location" {
  description = "Region of the account."
  value       = azurerm_cognitive_account.this.location
}

output "residency" {
  description = "Residency the policy should assign to this endpoint."
  value       = var.residency
}

output "deployments" {
  description = "Names of the model deployments."
  value       = keys(azurerm_cognitive_deployment.this)
}
