output "queue_url" {
  description = "The scan queue the deployment events and bulk-scan requests land in."
  value       = module.lambda.queue_url
}

output "bulk_scan_rule_name" {
  description = "The daily bulk-scan schedule."
  value       = module.lambda.bulk_scan_rule_name
}

output "spoke_read_policy_json" {
  description = "Attach to the spoke read role (spoke_role_name) in every account whose functions are scanned."
  value       = module.lambda.read_policy_json
}
