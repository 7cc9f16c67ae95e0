output "trail_arn" {
  description = "ARN of the trail: pass it to modules/lambda and modules/fargate as existing_trail_arn."
  value       = aws_cloudtrail.this.arn
}

output "trail_name" {
  description = "Name of the trail (carries the region)."
  value       = aws_cloudtrail.this.name
}

output "bucket_name" {
  description = "Name of the trail's log bucket (carries account and region)."
  value       = aws_s3_bucket.this.bucket
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the trail's logs (grant kms:Decrypt to log readers)."
  value       = aws_kms_key.this.arn
}
