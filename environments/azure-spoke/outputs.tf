output "system_topic_name" {
  description = "The spoke subscription's Microsoft.Resources.Subscriptions system topic (created or existing)."
  value       = module.spoke.system_topic_name
}

output "system_topic_principal_id" {
  description = "Principal id of the topic's identity, which holds Storage Queue Data Message Sender on the hub's queue and Storage Blob Data Contributor on its dead-letter container."
  value       = module.spoke.system_topic_principal_id
}

output "event_subscription_id" {
  description = "Resource id of the event subscription delivering the spoke's container writes to the hub."
  value       = module.spoke.event_subscription_id
}
