# One subscription's resource events → the hub's scan queue. Event Grid has no management-group topic: each
# subscription has (at most) one Microsoft.Resources.Subscriptions system topic, and its event subscription can
# deliver to a queue in another subscription of the same tenant. modules/aci-aca calls this module for the hub's
# own subscription, so the hub and every spoke share the filters below (one source of truth).
data "azurerm_client_config" "current" {}

locals {
  subscription_id = data.azurerm_client_config.current.subscription_id

  # The writes that deploy containers: Event Grid's string_in on data.operationName (case-insensitive).
  write_operations = [
    "Microsoft.ContainerInstance/containerGroups/write",
    "Microsoft.App/containerApps/write",
    "Microsoft.App/jobs/write",
  ]

  # qscan's own resource group is always excluded; the trailing slash keeps `rg-qscan` from excluding `rg-qscan2`.
  excluded_subject_prefixes = concat(
    ["/subscriptions/${local.subscription_id}/resourceGroups/${var.resource_group_name}/"],
    var.excluded_subject_prefixes,
  )

  # A custom role is one tenant object; Azure reads its assignments back with the id under the assignment's
  # subscription, so the hub's id (under the hub's subscription) would be replaced on every plan
  # (terraform-provider-azurerm issue 4847): the assignment names it under this subscription.
  reader_role_definition_id = "/subscriptions/${local.subscription_id}/providers/Microsoft.Authorization/roleDefinitions/${basename(var.hub.reader_role.definition_id)}"

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

  name                = "${var.hub.name}-subscription"
  resource_group_name = var.resource_group_name
  location            = "global" # subscription topics are global
  source_resource_id  = "/subscriptions/${local.subscription_id}"
  topic_type          = "Microsoft.Resources.Subscriptions"
  tags                = var.tags

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

# The topic's identity writes to the hub's queue and dead-letter container (in the hub's subscription when this
# is a spoke: the deployer needs rights to assign roles there, README); the event subscription waits for both
# (Event Grid validates the destination when the subscription is created).
resource "azurerm_role_assignment" "topic_queue_sender" {
  scope                = var.hub.scan_queue.id
  role_definition_name = "Storage Queue Data Message Sender"
  principal_id         = local.system_topic_principal_id
  principal_type       = "ServicePrincipal"
  description          = "qscan: Event Grid delivers resource write events to the scan queue"
}

resource "azurerm_role_assignment" "topic_dead_letter_writer" {
  scope                = var.hub.dead_letter.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = local.system_topic_principal_id
  principal_type       = "ServicePrincipal"
  description          = "qscan: Event Grid dead-letters undeliverable events to blob"
}

# Events carry no container list: the hub app reads the workload through ARM in this subscription. The hub's
# custom role lists this subscription in its assignable scopes (aci-aca `spoke_subscription_ids`); with the
# role assigned once at a management group (`assign_per_subscription = false`) there is nothing to assign here.
resource "azurerm_role_assignment" "app_reader" {
  count = var.hub.reader_role.assign_per_subscription ? 1 : 0

  scope              = "/subscriptions/${local.subscription_id}"
  role_definition_id = local.reader_role_definition_id
  principal_id       = var.hub.app_principal_id
  principal_type     = "ServicePrincipal"
  description        = "qscan: the hub app reads the images of container groups, container apps and jobs"
}

resource "azurerm_eventgrid_system_topic_event_subscription" "this" {
  name                 = "${var.hub.name}-container-writes"
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
    storage_account_id = var.hub.scan_queue.storage_account_id
    queue_name         = var.hub.scan_queue.name
  }

  delivery_identity {
    type = "SystemAssigned"
  }

  retry_policy {
    max_delivery_attempts = var.hub.event_delivery.max_delivery_attempts
    event_time_to_live    = var.hub.event_delivery.time_to_live_minutes
  }

  storage_blob_dead_letter_destination {
    storage_account_id          = var.hub.dead_letter.storage_account_id
    storage_blob_container_name = var.hub.dead_letter.container_name
  }

  dead_letter_identity {
    type = "SystemAssigned"
  }

  depends_on = [
    azurerm_role_assignment.topic_queue_sender,
    azurerm_role_assignment.topic_dead_letter_writer,
  ]
}
