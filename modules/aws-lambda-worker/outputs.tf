# Whole resource objects: the platform modules derive their public outputs from them, and their tests assert
# on them (`terraform test` cannot reach into a child module's resources).
output "queue" {
  description = "The scan queue (aws_sqs_queue)."
  value       = aws_sqs_queue.this
}

output "dlq" {
  description = "The dead-letter queue (aws_sqs_queue)."
  value       = aws_sqs_queue.dlq
}

output "queue_policy" {
  description = "The scan queue's policy (aws_sqs_queue_policy)."
  value       = aws_sqs_queue_policy.this
}

output "dlq_policy" {
  description = "The dead-letter queue's policy (aws_sqs_queue_policy)."
  value       = aws_sqs_queue_policy.dlq
}

output "dlq_redrive_allow_policy" {
  description = "The dead-letter queue's redrive allow policy (aws_sqs_queue_redrive_allow_policy)."
  value       = aws_sqs_queue_redrive_allow_policy.dlq
}

output "function" {
  description = "The scanner function (aws_lambda_function)."
  value       = aws_lambda_function.this
}

output "log_group" {
  description = "The scanner function's log group (aws_cloudwatch_log_group)."
  value       = aws_cloudwatch_log_group.this
}

output "role" {
  description = "The scanner's IAM role (aws_iam_role)."
  value       = aws_iam_role.this
}

output "role_policy" {
  description = "The scanner role's inline policy (aws_iam_role_policy)."
  value       = aws_iam_role_policy.this
}

output "event_source_mapping" {
  description = "The queue-to-function event source mapping (aws_lambda_event_source_mapping); null when create_event_source_mapping is false."
  value       = one(aws_lambda_event_source_mapping.this[*])
}

output "qscanner_layer" {
  description = "The qscanner layer version this module published (aws_lambda_layer_version); null when none was published."
  value       = one(aws_lambda_layer_version.qscanner[*])
}

output "layer_arns" {
  description = "Layers attached to the function (the qscanner layer first)."
  value       = local.layer_arns
}

output "alarms" {
  description = "The alarms that notify the alerts topic (aws_cloudwatch_metric_alarm), by purpose: lambda_errors, lambda_throttles, dlq_visible, queue_age."
  value = {
    lambda_errors    = aws_cloudwatch_metric_alarm.lambda_errors
    lambda_throttles = aws_cloudwatch_metric_alarm.lambda_throttles
    dlq_visible      = aws_cloudwatch_metric_alarm.dlq_visible
    queue_age        = aws_cloudwatch_metric_alarm.queue_age
  }
}

output "retry" {
  description = "The retry semantics the handler gets: attempts (max_receive_count), backoff, the retry horizon in seconds (the queue-age alarm sits above it) and the dead-letter queue ARN it sends to."
  value = {
    max_receive_count     = var.max_receive_count
    backoff               = var.retry_backoff
    retry_horizon_seconds = local.retry_horizon_seconds
    dead_letter_queue_arn = local.dlq_arn
  }
}

output "dashboard" {
  description = "The CloudWatch dashboard (aws_cloudwatch_dashboard); null when create_dashboard is false."
  value       = module.dashboard.dashboard
}

output "metrics" {
  description = "The EMF metric contract the dashboard reads: namespace, `service` dimension value and metric names."
  value       = module.dashboard.metrics
}
