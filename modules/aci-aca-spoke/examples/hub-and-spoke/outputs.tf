output "function_app_name" {
  description = "The hub's scanner Function App."
  value       = module.hub.function_app_name
}

output "spoke_event_subscription_id" {
  description = "The spoke's event subscription delivering to the hub's scan queue."
  value       = module.spoke.event_subscription_id
}
