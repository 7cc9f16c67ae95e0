# The shared management-events trail: write-only management events, KMS, validated logs, a locked-down bucket,
# names that carry account and region (mocked provider; apply where assertions read computed policies).
mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  name = "qscan-lambda-trail"
}

run "created_trail_records_write_management_events" {
  command = apply

  assert {
    condition     = aws_cloudtrail.this.name == "qscan-lambda-trail-eu-west-1" && output.trail_name == "qscan-lambda-trail-eu-west-1"
    error_message = "The trail name must carry the region (multi-region trails are visible in every region)."
  }
  assert {
    condition     = one(aws_cloudtrail.this.event_selector).read_write_type == "WriteOnly" && one(aws_cloudtrail.this.event_selector).include_management_events
    error_message = "The trail records write-only management events (the deployment calls are writes)."
  }
  assert {
    condition     = length(one(aws_cloudtrail.this.event_selector).data_resource) == 0 && length(aws_cloudtrail.this.advanced_event_selector) == 0
    error_message = "No data events: they are billed and no rule needs them."
  }
  assert {
    condition     = aws_cloudtrail.this.enable_log_file_validation && aws_cloudtrail.this.kms_key_id == aws_kms_key.this.arn
    error_message = "Log file validation on and logs encrypted with the trail key."
  }
  assert {
    condition     = !aws_cloudtrail.this.is_multi_region_trail && !aws_cloudtrail.this.include_global_service_events
    error_message = "Single-region by default."
  }
  assert {
    condition     = aws_cloudtrail.this.s3_bucket_name == aws_s3_bucket.this.id && aws_s3_bucket.this.bucket == "qscan-lambda-trail-123456789012-eu-west-1"
    error_message = "The trail writes to its own bucket, named with account and region."
  }
  assert {
    condition     = output.trail_arn == aws_cloudtrail.this.arn && output.bucket_name == aws_s3_bucket.this.bucket && output.kms_key_arn == aws_kms_key.this.arn
    error_message = "Trail outputs point at the created resources."
  }
}

run "trail_bucket_is_locked_down" {
  command = apply

  assert {
    condition = (
      aws_s3_bucket_public_access_block.this.block_public_acls && aws_s3_bucket_public_access_block.this.block_public_policy &&
      aws_s3_bucket_public_access_block.this.ignore_public_acls && aws_s3_bucket_public_access_block.this.restrict_public_buckets
    )
    error_message = "Public access must be blocked."
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms" && one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).kms_master_key_id == aws_kms_key.this.arn
    error_message = "The bucket defaults to SSE-KMS with the trail key."
  }
  assert {
    condition     = one(aws_s3_bucket_versioning.this.versioning_configuration).status == "Enabled"
    error_message = "Log objects are versioned."
  }
  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.this.rule).expiration).days == 365
    error_message = "Logs expire after log_retention_days."
  }
  assert {
    condition     = aws_kms_key.this.enable_key_rotation && aws_kms_alias.this.name == "alias/qscan-lambda-trail"
    error_message = "The trail key rotates."
  }
}

run "trail_bucket_policy_admits_only_this_trail" {
  command = apply

  assert {
    condition     = [for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement : s.Sid] == ["CloudTrailAclCheck", "CloudTrailWrite", "DenyInsecureTransport"]
    error_message = "Unexpected bucket policy statements."
  }
  assert {
    condition     = jsondecode(aws_s3_bucket_policy.this.policy).Statement[0].Action == "s3:GetBucketAcl" && jsondecode(aws_s3_bucket_policy.this.policy).Statement[0].Condition.StringEquals["aws:SourceArn"] == "arn:aws:cloudtrail:eu-west-1:123456789012:trail/qscan-lambda-trail-eu-west-1"
    error_message = "The ACL check must be limited to this trail."
  }
  assert {
    condition = (
      jsondecode(aws_s3_bucket_policy.this.policy).Statement[1].Principal.Service == "cloudtrail.amazonaws.com" &&
      jsondecode(aws_s3_bucket_policy.this.policy).Statement[1].Action == "s3:PutObject" &&
      jsondecode(aws_s3_bucket_policy.this.policy).Statement[1].Resource == "arn:aws:s3:::qscan-lambda-trail-123456789012-eu-west-1/AWSLogs/123456789012/*" &&
      jsondecode(aws_s3_bucket_policy.this.policy).Statement[1].Condition.StringEquals == {
        "s3:x-amz-acl"  = "bucket-owner-full-control"
        "aws:SourceArn" = "arn:aws:cloudtrail:eu-west-1:123456789012:trail/qscan-lambda-trail-eu-west-1"
      }
    )
    error_message = "CloudTrail may write only this account's logs, only for this trail, with bucket-owner-full-control."
  }
  assert {
    condition     = jsondecode(aws_s3_bucket_policy.this.policy).Statement[2].Effect == "Deny" && jsondecode(aws_s3_bucket_policy.this.policy).Statement[2].Condition.Bool["aws:SecureTransport"] == "false"
    error_message = "TLS only."
  }
}

run "trail_key_policy_admits_only_this_trail" {
  command = apply

  assert {
    condition     = [for s in jsondecode(aws_kms_key.this.policy).Statement : s.Sid] == ["EnableIamPolicies", "CloudTrailEncryptsThisTrail", "CloudTrailDescribesKey"]
    error_message = "Unexpected key policy statements."
  }
  assert {
    condition = (
      jsondecode(aws_kms_key.this.policy).Statement[1].Action == "kms:GenerateDataKey*" &&
      jsondecode(aws_kms_key.this.policy).Statement[1].Condition.StringEquals["aws:SourceArn"] == "arn:aws:cloudtrail:eu-west-1:123456789012:trail/qscan-lambda-trail-eu-west-1" &&
      jsondecode(aws_kms_key.this.policy).Statement[1].Condition.StringLike["kms:EncryptionContext:aws:cloudtrail:arn"] == "arn:aws:cloudtrail:*:123456789012:trail/*"
    )
    error_message = "CloudTrail may generate data keys only for this trail."
  }
  assert {
    condition     = !anytrue([for s in jsondecode(aws_kms_key.this.policy).Statement : try(s.Principal == "*", false) || try(s.Principal.AWS == "*", false)])
    error_message = "No wildcard principal in the key policy."
  }
}

run "multi_region_trail" {
  command = plan

  variables {
    multi_region       = true
    log_retention_days = 90
  }

  assert {
    condition     = aws_cloudtrail.this.is_multi_region_trail && aws_cloudtrail.this.include_global_service_events
    error_message = "A multi-region trail also records global service events."
  }
  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.this.rule).expiration).days == 90
    error_message = "Retention follows log_retention_days."
  }
}

run "second_region_trail_does_not_collide" {
  command = plan

  override_data {
    target = data.aws_region.current
    values = { name = "us-west-2" }
  }

  assert {
    condition     = aws_cloudtrail.this.name == "qscan-lambda-trail-us-west-2" && aws_s3_bucket.this.bucket == "qscan-lambda-trail-123456789012-us-west-2"
    error_message = "Trail and bucket names must carry the region."
  }
}

run "rejects_bad_name_retention_and_key_window" {
  command = plan

  variables {
    name                         = "Qscan_Trail"
    log_retention_days           = 0
    kms_key_deletion_window_days = 3
  }

  expect_failures = [var.name, var.log_retention_days, var.kms_key_deletion_window_days]
}
