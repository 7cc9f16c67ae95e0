output "system_topic_name" {
  description = "The subscription's Microsoft.Resources.Subscriptions system topic (created or existing)."
  value       = local.system_topic_name
}

output "system_topic_principal_id" {
  description = "Principal id of the system topic's identity (Storage Queue Data Message Sender on the hub's queue, Storage Blob Data Contributor on its dead-letter container)."
  value       = local.system_topic_principal_id
}

output "event_subscription_id" {
  description = "Resource id of the Event Grid subscription that delivers container writes to the hub's scan queue."
  value       = azurerm_eventgrid_system_topic_event_subscription.this.id
}
