output "rule_names" {
  description = "Forwarding rules on the default bus by hub pattern key (names carry the region)."
  value       = { for key, rule in aws_cloudwatch_event_rule.forward : key => rule.name }
}

output "rule_arns" {
  description = "ARNs of the forwarding rules by hub pattern key."
  value       = { for key, rule in aws_cloudwatch_event_rule.forward : key => rule.arn }
}

output "event_patterns" {
  description = "The patterns the forwarding rules match, by key: hub.event_patterns verbatim."
  value       = { for key, rule in aws_cloudwatch_event_rule.forward : key => rule.event_pattern }
}

output "forward_role_name" {
  description = "Name of the role EventBridge uses to put events on the hub bus (carries the region)."
  value       = aws_iam_role.forward.name
}

output "forward_role_arn" {
  description = "ARN of the forwarding role."
  value       = aws_iam_role.forward.arn
}

output "dlq_arn" {
  description = "ARN of the forwarding dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_url" {
  description = "URL of the forwarding dead-letter queue."
  value       = aws_sqs_queue.dlq.id
}

output "read_role_name" {
  description = "Name of the read role the hub assumes (hub.spoke_role_name); null when create_read_role is false."
  value       = one(aws_iam_role.read[*].name)
}

output "read_role_arn" {
  description = "ARN of the read role; null when create_read_role is false."
  value       = one(aws_iam_role.read[*].arn)
}

output "read_trust_policy_json" {
  description = "The read role's trust policy (JSON): the hub's scanner roles with the ExternalId."
  value       = local.read_trust_policy
}

output "trail_arn" {
  description = "ARN of the trail this spoke created; null unless create_trail."
  value       = one(module.trail[*].trail_arn)
}
