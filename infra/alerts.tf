# Alerts for what must never go unnoticed: the audit trail is evidence, so anything that keeps an
# event out of its chain, or a request from being recorded, pages the operators. Each alert names
# its runbook. The log queries match the messages the app writes (test/infra/alerts.test.ts checks
# that they still exist in the code).

resource "azurerm_monitor_action_group" "ops" {
  name                = "ag-${var.name_prefix}-palisade-ops"
  resource_group_name = azurerm_resource_group.main.name
  short_name          = "palisade"
  tags                = local.tags

  dynamic "email_receiver" {
    for_each = toset(var.alert_emails)
    content {
      name                    = "email-${replace(email_receiver.value, "/[^A-Za-z0-9]/", "-")}"
      email_address           = email_receiver.value
      use_common_alert_schema = true
    }
  }
}

locals {
  # name => (severity, log query, description). Counted over 15 minutes, checked every 5.
  log_alerts = {
    audit-dead-letters = {
      severity    = 1
      query       = "AppTraces | where Message has \"audit.append.dead_lettered\""
      description = "An audit message could not become a chain entry and was kept in the AuditDeadLetters table. Runbook: docs/runbooks/audit-dead-letters.md"
    }
    audit-publish-failed = {
      severity    = 1
      query       = "AppTraces | where Message has \"audit events could not be published\" or Message has \"audit.outbox.failed\""
      description = "Palisade could not publish audit events (fail-closed projects answered 503; outbox projects could not write the outbox). Check Service Bus and the storage account."
    }
    audit-checkpoint-refused = {
      severity    = 0
      query       = "AppTraces | where Message has \"audit.checkpoint.refused\""
      description = "A chain did not match its signed checkpoints, so no new checkpoint was signed. Treat as a security incident. Runbook: docs/runbooks/audit-verification-failure.md"
    }
  }
}

resource "azurerm_monitor_scheduled_query_rules_alert_v2" "log" {
  for_each             = local.log_alerts
  name                 = "alert-${var.name_prefix}-palisade-${each.key}"
  location             = azurerm_resource_group.main.location
  resource_group_name  = azurerm_resource_group.main.name
  scopes               = [azurerm_application_insights.main.id]
  description          = each.value.description
  severity             = each.value.severity
  evaluation_frequency = "PT5M"
  window_duration      = "PT15M"
  tags                 = local.tags

  criteria {
    query                   = each.value.query
    time_aggregation_method = "Count"
    threshold               = 0
    operator                = "GreaterThan"
  }

  action {
    action_groups = [azurerm_monitor_action_group.ops.id]
  }
}

# Messages the broker gave up on (max deliveries or expiry) never reached a chain.
resource "azurerm_monitor_metric_alert" "audit_queue_dead_letters" {
  name                = "alert-${var.name_prefix}-palisade-audit-dlq"
  resource_group_name = azurerm_resource_group.main.name
  scopes              = [azurerm_servicebus_namespace.main.id]
  description         = "Messages are in the audit queue's dead-letter queue: audit events that never reached their chain. Peek them, do not receive-and-delete. Runbook: docs/runbooks/audit-dead-letters.md"
  severity            = 1
  frequency           = "PT5M"
  window_size         = "PT15M"
  tags                = local.tags

  criteria {
    metric_namespace = "Microsoft.ServiceBus/namespaces"
    metric_name      = "DeadletteredMessages"
    aggregation      = "Maximum"
    operator         = "GreaterThan"
    threshold        = 0

    dimension {
      name     = "EntityName"
      operator = "Include"
      values   = [var.audit_queue_name]
    }
  }

  action {
    action_group_id = azurerm_monitor_action_group.ops.id
  }
}
