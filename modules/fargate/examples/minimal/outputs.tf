output "state_machine_arn" {
  description = "The scan workflow the ECS rules start."
  value       = module.fargate.state_machine_arn
}

output "rule_names" {
  description = "The ECS rules (task definitions; tasks and services)."
  value       = module.fargate.rule_names
}
