output "function_name" {
  description = "Name of the reconciler function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the reconciler function."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the reconciler's role (spoke read roles trust it for cross-account listing)."
  value       = aws_iam_role.this.arn
}

output "role_policy_json" {
  description = "The reconciler role's inline policy (least privilege; for review)."
  value       = aws_iam_role_policy.this.policy
}

output "schedule_name" {
  description = "Name of the EventBridge Scheduler schedule."
  value       = aws_scheduler_schedule.this.name
}

output "alarm_arns" {
  description = "The alarms on the alerts topic: `never_scanned` (null when disabled) and `errors`."
  value = {
    never_scanned = one(aws_cloudwatch_metric_alarm.never_scanned[*].arn)
    errors        = aws_cloudwatch_metric_alarm.errors.arn
  }
}

output "metrics" {
  description = "The EMF metrics (namespace, service dimension, names) each run emits."
  value = {
    namespace = var.metrics_namespace
    service   = local.service_name
    names     = ["ReconcileRuns", "ArtifactsFound", "ScanRequestsEnqueued", "NeverScanned", "StaleArtifacts", "ReconcileErrors", "ReconcileTruncated"]
  }
}
