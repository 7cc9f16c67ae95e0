output "state_machine_arn" {
  description = "ARN of the Standard Step Functions state machine the rules start."
  value       = aws_sfn_state_machine.this.arn
}

output "state_machine_name" {
  description = "Name of the state machine."
  value       = aws_sfn_state_machine.this.name
}

output "definition" {
  description = "The rendered workflow definition (JSON, from workflow.asl.json)."
  value       = local.definition
}

output "function_name" {
  description = "Name of the workflow's task function."
  value       = aws_lambda_function.tasks.function_name
}

output "function_arn" {
  description = "ARN of the workflow's task function."
  value       = aws_lambda_function.tasks.arn
}

output "role_arn" {
  description = "ARN of the task function's IAM role (the role that assumes spoke read roles; spoke read roles trust it)."
  value       = aws_iam_role.tasks.arn
}

output "layer_arns" {
  description = "Layers attached to the task function: the qscanner layer (qscanner_layer_arn), or none."
  value       = aws_lambda_function.tasks.layers
}

output "rule_names" {
  description = "EventBridge rule names by purpose: task_definition (RegisterTaskDefinition) and deployment (RunTask, CreateService, UpdateService)."
  value       = { for key, rule in aws_cloudwatch_event_rule.this : key => rule.name }
}

output "event_patterns" {
  description = "The rules' event patterns (JSON) by purpose."
  value       = { for key, rule in local.rules : key => rule.pattern }
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue of events the rules could not start an execution for."
  value       = aws_sqs_queue.dlq.arn
}

output "trail_arn" {
  description = "ARN of the trail that feeds the rules (existing_trail_arn); null when events are forwarded to a custom bus."
  value       = var.existing_trail_arn
}

output "alarm_arns" {
  description = "ARNs of the alarms that notify the alerts topic, by purpose."
  value = merge(
    { for key, alarm in aws_cloudwatch_metric_alarm.executions : "executions_${key}" => alarm.arn },
    { dlq_visible = aws_cloudwatch_metric_alarm.dlq_visible.arn },
  )
}

output "read_policy_json" {
  description = "IAM policy (JSON) that a cross-account read role in a spoke account needs so the task function, assuming it (spoke_role_name), can resolve the spoke's task definitions and read its ECR images: attach it to that role."
  value       = data.aws_iam_policy_document.read.json
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard (carries the region); null when create_dashboard is false."
  value       = one(module.dashboard.dashboard[*].dashboard_name)
}

output "metrics" {
  description = "The EMF metric contract the dashboard reads: namespace, `service` dimension value and metric names."
  value       = module.dashboard.metrics
}
