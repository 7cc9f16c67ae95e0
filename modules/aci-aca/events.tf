# Trigger: the subscription's resource events → Storage Queue (no webhook handshake, so the infrastructure and
# the app deploy in any order). One Microsoft.Resources.Subscriptions system topic may exist per subscription:
# the module creates it, or uses `existing_system_topic`.
locals {
  system_topic_name           = var.existing_system_topic == null ? azurerm_eventgrid_system_topic.this[0].name : var.existing_system_topic.name
  system_topic_resource_group = var.existing_system_topic == null ? var.resource_group_name : var.existing_system_topic.resource_group_name
  system_topic_principal_id = (
    var.existing_system_topic == null
    ? azurerm_eventgrid_system_topic.this[0].identity[0].principal_id
    : one(data.azurerm_eventgrid_system_topic.existing[0].identity[*].principal_id)
  )
}

resource "azurerm_eventgrid_system_topic" "this" {
  count = var.existing_system_topic == null ? 1 : 0

  name                = "${local.base}-subscription"
  resource_group_name = var.resource_group_name
  location            = "global" # subscription topics are global
  source_resource_id  = "/subscriptions/${local.subscription_id}"
  topic_type          = "Microsoft.Resources.Subscriptions"
  tags                = local.tags

  identity {
    type = "SystemAssigned"
  }
}

data "azurerm_eventgrid_system_topic" "existing" {
  count = var.existing_system_topic == null ? 0 : 1

  name                = var.existing_system_topic.name
  resource_group_name = var.existing_system_topic.resource_group_name

  lifecycle {
    postcondition {
      condition     = self.topic_type == "Microsoft.Resources.Subscriptions"
      error_message = "existing_system_topic must be the subscription's Microsoft.Resources.Subscriptions system topic."
    }
    postcondition {
      condition     = length(self.identity) > 0 && self.identity[0].principal_id != null && self.identity[0].principal_id != ""
      error_message = "The existing system topic has no system-assigned identity: enable it (az eventgrid system-topic update --identity systemassigned); the module delivers and dead-letters with it."
    }
  }
}

# The topic's identity writes to the queue and to the dead-letter container; the event subscription waits for
# both (Event Grid validates the destination when the subscription is created).
resource "azurerm_role_assignment" "topic_queue_sender" {
  scope                = azurerm_storage_queue.scan.id
  role_definition_name = "Storage Queue Data Message Sender"
  principal_id         = local.system_topic_principal_id
  principal_type       = "ServicePrincipal"
  description          = "qscan: Event Grid delivers resource write events to the scan queue"
}

resource "azurerm_role_assignment" "topic_dead_letter_writer" {
  scope                = azurerm_storage_container.dead_letter.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = local.system_topic_principal_id
  principal_type       = "ServicePrincipal"
  description          = "qscan: Event Grid dead-letters undeliverable events to blob"
}

resource "azurerm_eventgrid_system_topic_event_subscription" "this" {
  name                 = "${local.base}-container-writes"
  system_topic         = local.system_topic_name
  resource_group_name  = local.system_topic_resource_group
  included_event_types = ["Microsoft.Resources.ResourceWriteSuccess"]

  # Values compare case-insensitively; at most 25 values in all (variables.tf validates the caller's share).
  advanced_filter {
    string_in {
      key    = "data.operationName"
      values = local.write_operations
    }
    string_not_begins_with {
      key    = "subject"
      values = local.excluded_subject_prefixes
    }
  }

  storage_queue_endpoint {
    storage_account_id = azurerm_storage_account.data.id
    queue_name         = azurerm_storage_queue.scan.name
  }

  delivery_identity {
    type = "SystemAssigned"
  }

  retry_policy {
    max_delivery_attempts = var.event_max_delivery_attempts
    event_time_to_live    = var.event_time_to_live_minutes
  }

  storage_blob_dead_letter_destination {
    storage_account_id          = azurerm_storage_account.data.id
    storage_blob_container_name = azurerm_storage_container.dead_letter.name
  }

  dead_letter_identity {
    type = "SystemAssigned"
  }

  depends_on = [
    azurerm_role_assignment.topic_queue_sender,
    azurerm_role_assignment.topic_dead_letter_writer,
  ]
}
