output "queue_url" {
  description = "The scan queue the push events land in."
  value       = module.ecr.queue_url
}

output "event_rule_arns" {
  description = "The push rules (native ECR Image Action and CloudTrail PutImage)."
  value       = module.ecr.event_rule_arns
}

output "spoke_read_policy_json" {
  description = "Attach to the spoke read role (spoke_role_name) in every account whose images are scanned."
  value       = module.ecr.read_policy_json
}
