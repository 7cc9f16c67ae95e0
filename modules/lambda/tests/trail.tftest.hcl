# The optional trail: created (write-only management events, KMS, validated logs, locked-down bucket) or an
# existing one named by ARN (mocked provider; apply where assertions read computed policies).
mock_provider "aws" {
  source = "./tests/mocks"
}

override_resource {
  target = module.worker.aws_sqs_queue.this
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:qscan-lambda-scan"
    id  = "https://sqs.eu-west-1.amazonaws.com/123456789012/qscan-lambda-scan"
  }
}

override_resource {
  target = module.worker.aws_sqs_queue.dlq
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:qscan-lambda-scan-dlq"
    id  = "https://sqs.eu-west-1.amazonaws.com/123456789012/qscan-lambda-scan-dlq"
  }
}

variables {
  core = {
    kms_key_arn          = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    results_bucket_arn   = "arn:aws:s3:::qscan-results-123456789012-eu-west-1"
    dedupe_table_arn     = "arn:aws:dynamodb:eu-west-1:123456789012:table/qscan-dedupe"
    alert_topic_arn      = "arn:aws:sns:eu-west-1:123456789012:qscan-alerts"
    qualys_secret_arn    = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:qscan/qualys-access-token-AbCdEf"
    log_retention_days   = 365
    decrypt_kms_key_arns = ["arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"]
    handler_environment = {
      QSCAN_DEDUPE_TABLE       = "qscan-dedupe"
      QSCAN_RESULTS_BUCKET     = "qscan-results-123456789012-eu-west-1"
      QSCAN_RESULTS_KMS_KEY_ID = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
      QSCAN_ALERT_TOPIC_ARN    = "arn:aws:sns:eu-west-1:123456789012:qscan-alerts"
      QSCAN_QUALYS_SECRET_ARN  = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:qscan/qualys-access-token-AbCdEf"
    }
  }
  handler_artifact = {
    local_path       = "dist/lambda-handler.zip"
    source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  }
  qscanner_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:qscanner:7"
  create_trail       = true
}

run "created_trail_records_write_management_events" {
  command = apply

  assert {
    condition     = aws_cloudtrail.this[0].name == "qscan-lambda-trail-eu-west-1" && output.trail_name == "qscan-lambda-trail-eu-west-1"
    error_message = "The trail name must carry the region (multi-region trails are visible in every region)."
  }
  assert {
    condition     = one(aws_cloudtrail.this[0].event_selector).read_write_type == "WriteOnly" && one(aws_cloudtrail.this[0].event_selector).include_management_events
    error_message = "The trail records write-only management events (the deployment calls are writes)."
  }
  assert {
    condition     = length(one(aws_cloudtrail.this[0].event_selector).data_resource) == 0 && length(aws_cloudtrail.this[0].advanced_event_selector) == 0
    error_message = "No data events: they are billed and no rule needs them."
  }
  assert {
    condition     = aws_cloudtrail.this[0].enable_log_file_validation && aws_cloudtrail.this[0].kms_key_id == aws_kms_key.trail[0].arn
    error_message = "Log file validation on and logs encrypted with the trail key."
  }
  assert {
    condition     = !aws_cloudtrail.this[0].is_multi_region_trail && !aws_cloudtrail.this[0].include_global_service_events
    error_message = "Single-region by default."
  }
  assert {
    condition     = aws_cloudtrail.this[0].s3_bucket_name == aws_s3_bucket.trail[0].id && aws_s3_bucket.trail[0].bucket == "qscan-lambda-trail-123456789012-eu-west-1"
    error_message = "The trail writes to its own bucket, named with account and region."
  }
  assert {
    condition     = output.trail_arn == aws_cloudtrail.this[0].arn && output.trail_bucket_name == aws_s3_bucket.trail[0].bucket && output.trail_kms_key_arn == aws_kms_key.trail[0].arn
    error_message = "Trail outputs point at the created resources."
  }
}

run "trail_bucket_is_locked_down" {
  command = apply

  assert {
    condition = (
      aws_s3_bucket_public_access_block.trail[0].block_public_acls && aws_s3_bucket_public_access_block.trail[0].block_public_policy &&
      aws_s3_bucket_public_access_block.trail[0].ignore_public_acls && aws_s3_bucket_public_access_block.trail[0].restrict_public_buckets
    )
    error_message = "Public access must be blocked."
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.trail[0].rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms" && one(one(aws_s3_bucket_server_side_encryption_configuration.trail[0].rule).apply_server_side_encryption_by_default).kms_master_key_id == aws_kms_key.trail[0].arn
    error_message = "The bucket defaults to SSE-KMS with the trail key."
  }
  assert {
    condition     = one(aws_s3_bucket_versioning.trail[0].versioning_configuration).status == "Enabled"
    error_message = "Log objects are versioned."
  }
  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.trail[0].rule).expiration).days == 365
    error_message = "Logs expire after trail_log_retention_days."
  }
  assert {
    condition     = aws_kms_key.trail[0].enable_key_rotation && aws_kms_alias.trail[0].name == "alias/qscan-lambda-trail"
    error_message = "The trail key rotates."
  }
}

run "trail_bucket_policy_admits_only_this_trail" {
  command = apply

  assert {
    condition     = [for s in jsondecode(aws_s3_bucket_policy.trail[0].policy).Statement : s.Sid] == ["CloudTrailAclCheck", "CloudTrailWrite", "DenyInsecureTransport"]
    error_message = "Unexpected bucket policy statements."
  }
  assert {
    condition     = jsondecode(aws_s3_bucket_policy.trail[0].policy).Statement[0].Action == "s3:GetBucketAcl" && jsondecode(aws_s3_bucket_policy.trail[0].policy).Statement[0].Condition.StringEquals["aws:SourceArn"] == "arn:aws:cloudtrail:eu-west-1:123456789012:trail/qscan-lambda-trail-eu-west-1"
    error_message = "The ACL check must be limited to this trail."
  }
  assert {
    condition = (
      jsondecode(aws_s3_bucket_policy.trail[0].policy).Statement[1].Principal.Service == "cloudtrail.amazonaws.com" &&
      jsondecode(aws_s3_bucket_policy.trail[0].policy).Statement[1].Action == "s3:PutObject" &&
      jsondecode(aws_s3_bucket_policy.trail[0].policy).Statement[1].Resource == "arn:aws:s3:::qscan-lambda-trail-123456789012-eu-west-1/AWSLogs/123456789012/*" &&
      jsondecode(aws_s3_bucket_policy.trail[0].policy).Statement[1].Condition.StringEquals == {
        "s3:x-amz-acl"  = "bucket-owner-full-control"
        "aws:SourceArn" = "arn:aws:cloudtrail:eu-west-1:123456789012:trail/qscan-lambda-trail-eu-west-1"
      }
    )
    error_message = "CloudTrail may write only this account's logs, only for this trail, with bucket-owner-full-control."
  }
  assert {
    condition     = jsondecode(aws_s3_bucket_policy.trail[0].policy).Statement[2].Effect == "Deny" && jsondecode(aws_s3_bucket_policy.trail[0].policy).Statement[2].Condition.Bool["aws:SecureTransport"] == "false"
    error_message = "TLS only."
  }
}

run "trail_key_policy_admits_only_this_trail" {
  command = apply

  assert {
    condition     = [for s in jsondecode(aws_kms_key.trail[0].policy).Statement : s.Sid] == ["EnableIamPolicies", "CloudTrailEncryptsThisTrail", "CloudTrailDescribesKey"]
    error_message = "Unexpected key policy statements."
  }
  assert {
    condition = (
      jsondecode(aws_kms_key.trail[0].policy).Statement[1].Action == "kms:GenerateDataKey*" &&
      jsondecode(aws_kms_key.trail[0].policy).Statement[1].Condition.StringEquals["aws:SourceArn"] == "arn:aws:cloudtrail:eu-west-1:123456789012:trail/qscan-lambda-trail-eu-west-1" &&
      jsondecode(aws_kms_key.trail[0].policy).Statement[1].Condition.StringLike["kms:EncryptionContext:aws:cloudtrail:arn"] == "arn:aws:cloudtrail:*:123456789012:trail/*"
    )
    error_message = "CloudTrail may generate data keys only for this trail."
  }
  assert {
    condition     = !anytrue([for s in jsondecode(aws_kms_key.trail[0].policy).Statement : try(s.Principal == "*", false) || try(s.Principal.AWS == "*", false)])
    error_message = "No wildcard principal in the key policy."
  }
}

run "multi_region_trail" {
  command = plan

  variables {
    trail_multi_region       = true
    trail_log_retention_days = 90
  }

  assert {
    condition     = aws_cloudtrail.this[0].is_multi_region_trail && aws_cloudtrail.this[0].include_global_service_events
    error_message = "A multi-region trail also records global service events."
  }
  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.trail[0].rule).expiration).days == 90
    error_message = "Retention follows trail_log_retention_days."
  }
}

run "second_region_trail_does_not_collide" {
  command = plan

  override_data {
    target = data.aws_region.current
    values = { name = "us-west-2" }
  }

  assert {
    condition     = aws_cloudtrail.this[0].name == "qscan-lambda-trail-us-west-2" && aws_s3_bucket.trail[0].bucket == "qscan-lambda-trail-123456789012-us-west-2"
    error_message = "Trail and bucket names must carry the region."
  }
}

run "existing_trail_creates_nothing" {
  command = plan

  variables {
    create_trail       = false
    existing_trail_arn = "arn:aws:cloudtrail:us-east-1:111122223333:trail/organization-trail"
  }

  assert {
    condition = (
      length(aws_cloudtrail.this) == 0 && length(aws_s3_bucket.trail) == 0 && length(aws_kms_key.trail) == 0 &&
      length(aws_s3_bucket_policy.trail) == 0
    )
    error_message = "With an existing trail the module creates no trail, bucket or key."
  }
  assert {
    condition     = output.trail_arn == "arn:aws:cloudtrail:us-east-1:111122223333:trail/organization-trail" && output.trail_name == null && output.trail_bucket_name == null
    error_message = "trail_arn passes the existing trail through."
  }
}
