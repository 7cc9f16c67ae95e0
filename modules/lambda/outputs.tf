output "rule_name" {
  description = "Name of the EventBridge rule on the Lambda CloudTrail deployment calls."
  value       = aws_cloudwatch_event_rule.deploy.name
}

output "rule_arn" {
  description = "ARN of the deployment rule."
  value       = aws_cloudwatch_event_rule.deploy.arn
}

output "event_pattern" {
  description = "The deployment rule's event pattern (JSON), for matching sample events in tests."
  value       = local.deploy_event_pattern
}

output "bulk_scan_rule_name" {
  description = "Name of the scheduled bulk-scan rule (default bus); null unless bulk_scan_schedule_expression is set."
  value       = one(aws_cloudwatch_event_rule.bulk_scan[*].name)
}

output "bulk_scan_rule_arn" {
  description = "ARN of the scheduled bulk-scan rule; null unless bulk_scan_schedule_expression is set."
  value       = one(aws_cloudwatch_event_rule.bulk_scan[*].arn)
}

output "bulk_scan_input" {
  description = "The bulk-scan request (JSON) the schedule puts into the scan queue; null unless bulk_scan_schedule_expression is set."
  value       = local.has_bulk_scan ? local.bulk_scan_input : null
}

output "event_rule_arns" {
  description = "ARNs of every rule that feeds the scan queue (the queue policy admits exactly these)."
  value       = local.rule_arns
}

output "self_function_names" {
  description = "Exact names of qscan's own functions in this account and region that are never scanned (this module's scanner first); the pattern excludes them and the handler gets them as QSCAN_SELF_FUNCTION_NAMES."
  value       = local.self_function_names
}

output "self_function_prefix" {
  description = "DEPRECATED: always null (functions are no longer excluded by name prefix; see self_function_names). Kept so references do not break; will be removed in a future major version."
  value       = null
}

output "scan_tag_keys" {
  description = "Tag keys the handler may set on scanned functions when enable_tagging is on (the only keys lambda:TagResource allows); empty when tagging is off."
  value       = var.enable_tagging ? local.scan_tag_keys : []
}

output "queue_name" {
  description = "Name of the scan queue."
  value       = module.worker.queue.name
}

output "queue_url" {
  description = "URL of the scan queue (EventBridge events as message bodies)."
  value       = module.worker.queue.id
}

output "queue_arn" {
  description = "ARN of the scan queue."
  value       = module.worker.queue.arn
}

output "dlq_name" {
  description = "Name of the dead-letter queue."
  value       = module.worker.dlq.name
}

output "dlq_url" {
  description = "URL of the dead-letter queue (repeatedly failed scans and undeliverable events)."
  value       = module.worker.dlq.id
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = module.worker.dlq.arn
}

output "function_name" {
  description = "Name of the scanner Lambda function."
  value       = module.worker.function.function_name
}

output "function_arn" {
  description = "ARN of the scanner Lambda function."
  value       = module.worker.function.arn
}

output "role_name" {
  description = "Name of the scanner's IAM role (carries the region)."
  value       = module.worker.role.name
}

output "role_arn" {
  description = "ARN of the scanner's IAM role (spoke read roles trust it)."
  value       = module.worker.role.arn
}

output "role_policy_json" {
  description = "The scanner role's inline least-privilege policy (JSON), for reviews and tests (e.g. the aws:ResourceOrgID conditions organization_id adds)."
  value       = module.worker.role_policy.policy
}

output "log_group_name" {
  description = "CloudWatch log group of the scanner function."
  value       = module.worker.log_group.name
}

output "event_source_mapping_uuid" {
  description = "UUID of the queue-to-function event source mapping; null when create_event_source_mapping is false."
  value       = one(module.worker.event_source_mapping[*].uuid)
}

output "layer_arns" {
  description = "Layers attached to the function (the qscanner layer first)."
  value       = module.worker.layer_arns
}

output "qscanner_layer_version_arn" {
  description = "ARN of the qscanner layer version this module published; null when none was published."
  value       = one(module.worker.qscanner_layer[*].arn)
}

output "trail_arn" {
  description = "ARN of the trail that feeds the deployment rule (existing_trail_arn); null when events are forwarded to a custom bus."
  value       = var.existing_trail_arn
}

output "alarm_arns" {
  description = "ARNs of the alarms that notify the alerts topic, by purpose."
  value       = { for purpose, alarm in module.worker.alarms : purpose => alarm.arn }
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard (carries the region); null when create_dashboard is false."
  value       = one(module.worker.dashboard[*].dashboard_name)
}

output "metrics" {
  description = "The EMF metric contract the dashboard reads: namespace, `service` dimension value and metric names."
  value       = module.worker.metrics
}

output "read_policy_json" {
  description = "IAM policy (JSON) that a cross-account read role in a spoke account needs so this scanner, assuming it (spoke_role_name), can read the spoke's artifacts: attach it to that role."
  value       = data.aws_iam_policy_document.read.json
}
