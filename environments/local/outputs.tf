output "function_name" {
  description = "The ECR scanner function (its configuration holds the handler's environment)."
  value       = module.ecr.function_name
}

output "queue_url" {
  description = "Scan queue the push events land in."
  value       = module.ecr.queue_url
}

output "dlq_url" {
  description = "Dead-letter queue of push events that failed max_receive_count times."
  value       = module.ecr.dlq_url
}

output "max_receive_count" {
  description = "Receives before a message moves to the dead-letter queue."
  value       = var.max_receive_count
}

output "alert_topic_arn" {
  description = "Alerts topic (the demo subscribes a queue to read the alerts back)."
  value       = module.core.alert_topic_arn
}

output "qualys_secret_arn" {
  description = "Secret the handler reads the Qualys credentials from (the demo puts a dummy value)."
  value       = module.core.qualys_secret_arn
}

output "results_bucket_name" {
  description = "Results bucket."
  value       = module.core.results_bucket_name
}

output "dedupe_table_name" {
  description = "Dedupe table."
  value       = module.core.dedupe_table_name
}

output "event_rule_names" {
  description = "EventBridge rules feeding the scan queue."
  value       = compact([module.ecr.native_rule_name, module.ecr.cloudtrail_rule_name])
}

output "native_event_pattern" {
  description = "The native ECR push rule's event pattern (JSON)."
  value       = module.ecr.native_event_pattern
}

output "cloudtrail_event_pattern" {
  description = "The CloudTrail PutImage rule's event pattern (JSON)."
  value       = module.ecr.cloudtrail_event_pattern
}

output "lambda_function_name" {
  description = "The Lambda scanner function (its configuration holds the handler's environment)."
  value       = module.lambda.function_name
}

output "lambda_queue_url" {
  description = "Scan queue the Lambda deployment events (CloudTrail-shaped) land in."
  value       = module.lambda.queue_url
}

output "lambda_dlq_url" {
  description = "Dead-letter queue of Lambda deployment events that failed max_receive_count times."
  value       = module.lambda.dlq_url
}

output "lambda_rule_name" {
  description = "EventBridge rule feeding the Lambda scan queue."
  value       = module.lambda.rule_name
}

output "lambda_event_pattern" {
  description = "The Lambda deployment rule's event pattern (JSON)."
  value       = module.lambda.event_pattern
}

output "lambda_self_function_names" {
  description = "Exact names of qscan's own functions the Lambda rule and handler never scan."
  value       = module.lambda.self_function_names
}

output "fargate_state_machine_arn" {
  description = "The Fargate scan workflow (Step Functions) the ECS deployment rules start."
  value       = module.fargate.state_machine_arn
}

output "fargate_function_name" {
  description = "The Fargate workflow's task function (its configuration holds the handler's environment)."
  value       = module.fargate.function_name
}

output "fargate_rule_names" {
  description = "EventBridge rules that start the Fargate workflow, by purpose: task_definition (RegisterTaskDefinition) and deployment (RunTask, CreateService, UpdateService)."
  value       = module.fargate.rule_names
}

output "fargate_event_patterns" {
  description = "The Fargate rules' event patterns (JSON) by purpose."
  value       = module.fargate.event_patterns
}

output "fargate_dlq_arn" {
  description = "Dead-letter queue of ECS deployment events the rules could not start an execution for."
  value       = module.fargate.dlq_arn
}

output "reconciler_function_name" {
  description = "The reconciler function (null unless enable_reconciler; the demo invokes it once, as its schedule would)."
  value       = one(module.reconciler[*].function_name)
}
