output "rule_names" {
  description = "Forwarding rules on the default bus by hub pattern key."
  value       = module.spoke.rule_names
}

output "event_patterns" {
  description = "The patterns the forwarding rules match (the hub's, verbatim)."
  value       = module.spoke.event_patterns
}

output "forward_role_arn" {
  description = "The role EventBridge uses to put events on the hub bus."
  value       = module.spoke.forward_role_arn
}

output "dlq_url" {
  description = "Dead-letter queue of events that could not be forwarded (alarmed)."
  value       = module.spoke.dlq_url
}

output "read_role_arn" {
  description = "The read role the hub assumes; null when create_read_role is false."
  value       = module.spoke.read_role_arn
}

output "read_role_name" {
  description = "Name of the read role (the hub's spoke_role_name); null when create_read_role is false."
  value       = module.spoke.read_role_name
}

output "trail_arn" {
  description = "The trail this spoke created; null unless create_trail."
  value       = module.spoke.trail_arn
}
