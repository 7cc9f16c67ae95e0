locals {
  action_group_id = var.existing_action_group_id != null ? var.existing_action_group_id : azurerm_monitor_action_group.this[0].id
}

resource "azurerm_log_analytics_workspace" "this" {
  name                = "${local.base}-logs"
  resource_group_name = var.resource_group_name
  location            = var.location
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days
  tags                = local.tags
}

resource "azurerm_application_insights" "this" {
  name                = "${local.base}-appi"
  resource_group_name = var.resource_group_name
  location            = var.location
  workspace_id        = azurerm_log_analytics_workspace.this.id
  application_type    = "other"
  tags                = local.tags
}

# Scan notifications (QSCAN_EVENTGRID_TOPIC_ENDPOINT): subscribe email, Logic Apps, webhooks or queues to it.
resource "azurerm_eventgrid_topic" "notifications" {
  #checkov:skip=CKV_AZURE_191:the topic delivers nowhere the module owns; receivers subscribe with their own delivery settings
  #checkov:skip=CKV_AZURE_193:the app publishes over the public endpoint with Entra ID (local auth is off); private endpoints need a VNet the module does not own
  name                          = "${local.base}-notifications"
  resource_group_name           = var.resource_group_name
  location                      = var.location
  input_schema                  = "EventGridSchema"
  local_auth_enabled            = false
  public_network_access_enabled = true
  tags                          = local.tags
}

resource "azurerm_monitor_action_group" "this" {
  count = var.existing_action_group_id == null ? 1 : 0

  name                = "${local.base}-alerts"
  resource_group_name = var.resource_group_name
  short_name          = "qscan"
  tags                = local.tags

  dynamic "email_receiver" {
    for_each = var.alert_emails
    content {
      name                    = "email-${email_receiver.key}"
      email_address           = email_receiver.value
      use_common_alert_schema = true
    }
  }

  lifecycle {
    precondition {
      condition     = length(var.alert_emails) > 0
      error_message = "Set alert_emails or existing_action_group_id: the alerts must reach someone."
    }
  }
}

# Storage metrics count queue messages per account, not per queue, so "poison queue not empty" is read from the
# host's own log line when it moves a message to <queue>-poison.
resource "azurerm_monitor_scheduled_query_rules_alert_v2" "poison" {
  name                 = "${local.base}-poison-queue"
  resource_group_name  = var.resource_group_name
  location             = var.location
  description          = "A scan message used up its ${var.queue_max_dequeue_count} attempts and went to ${local.poison_queue_name}."
  scopes               = [azurerm_application_insights.this.id]
  severity             = 1
  evaluation_frequency = "PT5M"
  window_duration      = "PT5M"
  tags                 = local.tags

  criteria {
    query                   = "traces | where message contains \"MaxDequeueCount\" and message contains \"${local.poison_queue_name}\""
    time_aggregation_method = "Count"
    operator                = "GreaterThan"
    threshold               = 0
  }

  action {
    action_groups = [local.action_group_id]
  }
}

resource "azurerm_monitor_scheduled_query_rules_alert_v2" "failures" {
  name                 = "${local.base}-function-failures"
  resource_group_name  = var.resource_group_name
  location             = var.location
  description          = "Function invocations failed (transient errors: the queue retries them)."
  scopes               = [azurerm_application_insights.this.id]
  severity             = 2
  evaluation_frequency = "PT5M"
  window_duration      = "PT5M"
  tags                 = local.tags

  criteria {
    query                   = "requests | where success == false"
    time_aggregation_method = "Count"
    operator                = "GreaterThan"
    threshold               = 0
  }

  action {
    action_groups = [local.action_group_id]
  }
}

resource "azurerm_monitor_scheduled_query_rules_alert_v2" "no_scans" {
  count = var.no_scan_alert_hours > 0 ? 1 : 0

  name                 = "${local.base}-no-scans"
  resource_group_name  = var.resource_group_name
  location             = var.location
  description          = "No function invocation in ${var.no_scan_alert_hours} hours: the trigger may be broken."
  scopes               = [azurerm_application_insights.this.id]
  severity             = 3
  evaluation_frequency = "PT1H"
  window_duration      = var.no_scan_alert_hours < 24 ? "PT${var.no_scan_alert_hours}H" : "P${var.no_scan_alert_hours / 24}D"
  tags                 = local.tags

  criteria {
    query                   = "requests"
    time_aggregation_method = "Count"
    operator                = "LessThan"
    threshold               = 1
  }

  action {
    action_groups = [local.action_group_id]
  }
}
