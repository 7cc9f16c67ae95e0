output "name_prefix" {
  description = "The name prefix, for platform modules that should follow the same naming."
  value       = var.name_prefix
}

output "kms_key_arn" {
  description = "ARN of the scan store KMS key (encrypt platform queues and log groups with it)."
  value       = aws_kms_key.this.arn
}

output "kms_key_id" {
  description = "Key ID of the scan store KMS key."
  value       = aws_kms_key.this.key_id
}

output "kms_alias_name" {
  description = "Alias of the scan store KMS key."
  value       = aws_kms_alias.this.name
}

output "decrypt_kms_key_arns" {
  description = "Every KMS key a scanner must be allowed to use: the scan store key, plus the key of an existing Qualys secret when given."
  value       = compact([aws_kms_key.this.arn, var.create_qualys_secret ? null : var.qualys_secret_kms_key_arn])
}

output "results_bucket_name" {
  description = "Name of the results bucket."
  value       = aws_s3_bucket.this.bucket
}

output "results_bucket_arn" {
  description = "ARN of the results bucket."
  value       = aws_s3_bucket.this.arn
}

output "dedupe_table_name" {
  description = "Name of the dedupe DynamoDB table (partition key `pk`, TTL attribute `expires_at`)."
  value       = aws_dynamodb_table.this.name
}

output "dedupe_table_arn" {
  description = "ARN of the dedupe DynamoDB table."
  value       = aws_dynamodb_table.this.arn
}

output "alert_topic_arn" {
  description = "ARN of the alerts SNS topic (findings at or above the threshold, failed scans, alarms)."
  value       = aws_sns_topic.this.arn
}

output "qualys_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the Qualys access token (created empty, or the one passed in)."
  value       = local.qualys_secret_arn

  precondition {
    condition     = local.qualys_secret_arn != null
    error_message = "Set qualys_secret_arn when create_qualys_secret is false: the scanners need the Qualys token."
  }
}

output "log_retention_days" {
  description = "Retention (days) platform modules apply to their log groups."
  value       = var.log_retention_days
}

output "handler_environment" {
  description = "Environment variables every qscan handler reads to reach the scan store; merge it into the function environment."
  value = {
    QSCAN_DEDUPE_TABLE       = aws_dynamodb_table.this.name
    QSCAN_RESULTS_BUCKET     = aws_s3_bucket.this.bucket
    QSCAN_RESULTS_KMS_KEY_ID = aws_kms_key.this.arn
    QSCAN_ALERT_TOPIC_ARN    = aws_sns_topic.this.arn
    QSCAN_QUALYS_SECRET_ARN  = local.qualys_secret_arn
  }
}
