output "qualys_secret_arn" {
  description = "Secrets Manager secret the scanners read: put the Qualys secret JSON into it (see README)."
  value       = module.core.qualys_secret_arn
}

output "alert_topic_arn" {
  description = "SNS topic for findings at or above the threshold, failed scans and alarms: subscribe your tooling."
  value       = module.core.alert_topic_arn
}

output "results_bucket_name" {
  description = "S3 bucket with the normalized scan results and raw scanner outputs."
  value       = module.core.results_bucket_name
}

output "dedupe_table_name" {
  description = "DynamoDB table with one record per scanned image digest."
  value       = module.core.dedupe_table_name
}

output "ecr_scan_queue_url" {
  description = "SQS queue the ECR push events land in."
  value       = module.ecr.queue_url
}

output "ecr_dlq_url" {
  description = "Dead-letter queue of push events that failed repeatedly (alarmed)."
  value       = module.ecr.dlq_url
}

output "ecr_function_name" {
  description = "The ECR scanner Lambda function."
  value       = module.ecr.function_name
}

output "ecr_log_group_name" {
  description = "CloudWatch log group of the ECR scanner."
  value       = module.ecr.log_group_name
}

output "ecr_event_rule_arns" {
  description = "EventBridge rules that feed the scan queue."
  value       = module.ecr.event_rule_arns
}

output "ecr_dashboard_name" {
  description = "CloudWatch dashboard of the ECR scanner."
  value       = module.ecr.dashboard_name
}

output "lambda_scan_queue_url" {
  description = "SQS queue the Lambda deployment events (CloudTrail) land in."
  value       = module.lambda.queue_url
}

output "lambda_dlq_url" {
  description = "Dead-letter queue of Lambda deployment events that failed repeatedly (alarmed)."
  value       = module.lambda.dlq_url
}

output "lambda_function_name" {
  description = "The Lambda scanner function."
  value       = module.lambda.function_name
}

output "lambda_log_group_name" {
  description = "CloudWatch log group of the Lambda scanner."
  value       = module.lambda.log_group_name
}

output "lambda_event_rule_arns" {
  description = "EventBridge rules that feed the Lambda scan queue."
  value       = module.lambda.event_rule_arns
}

output "lambda_dashboard_name" {
  description = "CloudWatch dashboard of the Lambda scanner."
  value       = module.lambda.dashboard_name
}

output "lambda_trail_arn" {
  description = "The trail that feeds the Lambda deployment rule: the created one or existing_trail_arn."
  value       = module.lambda.trail_arn
}

output "lambda_handler_artifact" {
  description = "The Lambda scanner's handler package (path and base64 SHA-256 from the manifest)."
  value       = local.handler_artifacts["aws-lambda"]
}

output "fargate_state_machine_arn" {
  description = "The Step Functions state machine the ECS deployment rules start."
  value       = module.fargate.state_machine_arn
}

output "fargate_function_name" {
  description = "The Fargate workflow's task function (every step)."
  value       = module.fargate.function_name
}

output "fargate_rule_names" {
  description = "EventBridge rules that start the Fargate workflow, by purpose: task_definition (RegisterTaskDefinition) and deployment (RunTask, CreateService, UpdateService)."
  value       = module.fargate.rule_names
}

output "fargate_dlq_arn" {
  description = "Dead-letter queue of ECS deployment events the rules could not start an execution for (alarmed)."
  value       = module.fargate.dlq_arn
}

output "fargate_dashboard_name" {
  description = "CloudWatch dashboard of the Fargate workflow."
  value       = module.fargate.dashboard_name
}

output "fargate_handler_artifact" {
  description = "The Fargate task function's package (path and base64 SHA-256 from the manifest)."
  value       = local.handler_artifacts["aws-fargate"]
}

output "handler_artifact" {
  description = "The ECR scanner's handler package (path and base64 SHA-256 from the manifest)."
  value       = local.handler_artifacts["aws-ecr"]
}

output "qscanner_layer_arns" {
  description = "Layers attached to the ECR scanner (the qscanner layer first); the Lambda scanner gets the same qscanner layer source, the Fargate task function the ECR scanner's qscanner layer."
  value       = module.ecr.layer_arns
}

output "qscanner_layer_artifact" {
  description = "The qscanner layer zip published from the manifest; null when qscanner_layer_arn is used."
  value       = local.qscanner_layer_artifact
}

output "reconciler_function_name" {
  description = "The reconciler function (null when enable_reconciler is false)."
  value       = one(module.reconciler[*].function_name)
}

output "reconciler_alarm_arns" {
  description = "The reconciler's alarms (never_scanned, errors); null when enable_reconciler is false."
  value       = one(module.reconciler[*].alarm_arns)
}
