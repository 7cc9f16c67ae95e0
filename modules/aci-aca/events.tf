# Trigger: the subscription's resource events → Storage Queue (no webhook handshake, so the infrastructure and
# the app deploy in any order). The hub's own subscription goes through modules/aci-aca-spoke, the module every
# spoke subscription uses too: one system topic (created, or `existing_system_topic`), the same filters, the
# topic identity's roles on the queue and the dead-letter container, the event subscription.
locals {
  # What a spoke subscription needs from this hub (output spoke_config, read by environments/azure-spoke).
  spoke_config = {
    name = local.base
    scan_queue = {
      id                 = azurerm_storage_queue.scan.id
      name               = azurerm_storage_queue.scan.name
      storage_account_id = azurerm_storage_account.data.id
    }
    dead_letter = {
      id                 = azurerm_storage_container.dead_letter.id
      container_name     = azurerm_storage_container.dead_letter.name
      storage_account_id = azurerm_storage_account.data.id
    }
    app_principal_id = azurerm_user_assigned_identity.this.principal_id
    reader_role = {
      definition_id           = azurerm_role_definition.reader.role_definition_resource_id
      assign_per_subscription = !local.reader_at_management_group
    }
    event_delivery = {
      max_delivery_attempts = var.event_max_delivery_attempts
      time_to_live_minutes  = var.event_time_to_live_minutes
    }
  }
}

module "subscription_events" {
  source = "../aci-aca-spoke"

  # The hub assigns its reader role itself, at reader_scope (rbac.tf app_reader).
  hub                       = merge(local.spoke_config, { reader_role = merge(local.spoke_config.reader_role, { assign_per_subscription = false }) })
  resource_group_name       = var.resource_group_name
  existing_system_topic     = var.existing_system_topic
  excluded_subject_prefixes = var.excluded_subject_prefixes
  tags                      = local.tags
}

# These lived in this module before modules/aci-aca-spoke existed: existing state moves, nothing is replaced.
moved {
  from = azurerm_eventgrid_system_topic.this
  to   = module.subscription_events.azurerm_eventgrid_system_topic.this
}

moved {
  from = azurerm_role_assignment.topic_queue_sender
  to   = module.subscription_events.azurerm_role_assignment.topic_queue_sender
}

moved {
  from = azurerm_role_assignment.topic_dead_letter_writer
  to   = module.subscription_events.azurerm_role_assignment.topic_dead_letter_writer
}

moved {
  from = azurerm_eventgrid_system_topic_event_subscription.this
  to   = module.subscription_events.azurerm_eventgrid_system_topic_event_subscription.this
}
