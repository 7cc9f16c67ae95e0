output "state_machine_arn" {
  description = "The scan workflow the ECS rules start."
  value       = module.fargate.state_machine_arn
}

output "read_policy_json" {
  description = "Attach to the spoke read role in every spoke account."
  value       = module.fargate.read_policy_json
}
