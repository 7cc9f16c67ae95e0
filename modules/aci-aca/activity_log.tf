# The alternative trigger, off by default: the subscription's Administrative Activity Log → Event Hub → the
# app's Event Hub trigger. Activity Log export is 10-15 minutes late (Event Grid: seconds); use it where Event
# Grid cannot be set up. The diagnostic setting can only send with a namespace SAS rule, so the namespace keeps
# local authentication; the app reads with its identity.
locals {
  activity_log_connection_prefix = "QSCAN_ACTIVITY_LOG"
  activity_log_hub_name          = "activity-log"
  activity_log_consumer_group    = "qscan"
  activity_log_settings = var.enable_activity_log_trigger ? {
    "${local.activity_log_connection_prefix}__fullyQualifiedNamespace" = "${azurerm_eventhub_namespace.activity_log[0].name}.servicebus.windows.net"
    "${local.activity_log_connection_prefix}__credential"              = "managedidentity"
    "${local.activity_log_connection_prefix}__clientId"                = azurerm_user_assigned_identity.this.client_id
    QSCAN_ACTIVITY_LOG_HUB_NAME                                        = local.activity_log_hub_name
    QSCAN_ACTIVITY_LOG_CONSUMER_GROUP                                  = local.activity_log_consumer_group
  } : {}
}

resource "azurerm_eventhub_namespace" "activity_log" {
  count = var.enable_activity_log_trigger ? 1 : 0

  name                          = "${local.base}-activity"
  resource_group_name           = var.resource_group_name
  location                      = var.location
  sku                           = "Standard"
  capacity                      = 1
  minimum_tls_version           = "1.2"
  local_authentication_enabled  = true # the Activity Log diagnostic setting sends with a SAS rule only
  public_network_access_enabled = true
  tags                          = local.tags
}

resource "azurerm_eventhub" "activity_log" {
  count = var.enable_activity_log_trigger ? 1 : 0

  name              = local.activity_log_hub_name
  namespace_id      = azurerm_eventhub_namespace.activity_log[0].id
  partition_count   = 2
  message_retention = 1
}

resource "azurerm_eventhub_consumer_group" "activity_log" {
  count = var.enable_activity_log_trigger ? 1 : 0

  name                = local.activity_log_consumer_group
  namespace_name      = azurerm_eventhub_namespace.activity_log[0].name
  eventhub_name       = azurerm_eventhub.activity_log[0].name
  resource_group_name = var.resource_group_name
}

resource "azurerm_eventhub_namespace_authorization_rule" "activity_log_send" {
  count = var.enable_activity_log_trigger ? 1 : 0

  name                = "activity-log-send"
  namespace_name      = azurerm_eventhub_namespace.activity_log[0].name
  resource_group_name = var.resource_group_name
  send                = true
  listen              = false
  manage              = false
}

resource "azurerm_monitor_diagnostic_setting" "activity_log" {
  count = var.enable_activity_log_trigger ? 1 : 0

  name                           = "${local.base}-activity-log"
  target_resource_id             = "/subscriptions/${local.subscription_id}"
  eventhub_name                  = azurerm_eventhub.activity_log[0].name
  eventhub_authorization_rule_id = azurerm_eventhub_namespace_authorization_rule.activity_log_send[0].id

  enabled_log {
    category = "Administrative"
  }
}

resource "azurerm_role_assignment" "app_activity_log" {
  count = var.enable_activity_log_trigger ? 1 : 0

  scope                = azurerm_eventhub.activity_log[0].id
  role_definition_name = "Azure Event Hubs Data Receiver"
  principal_id         = azurerm_user_assigned_identity.this.principal_id
  principal_type       = "ServicePrincipal"
  description          = "qscan: the Event Hub trigger reads Activity Log batches"
}
