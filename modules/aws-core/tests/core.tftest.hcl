# Plan/apply against a mocked AWS provider: no credentials, no network.
mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
      arn        = "arn:aws:iam::123456789012:user/tester"
    }
  }
  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }
  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
      key_id = "11111111-2222-3333-4444-555555555555"
    }
  }
  mock_resource "aws_s3_bucket" {
    defaults = {
      arn = "arn:aws:s3:::qscan-results-123456789012-eu-west-1"
    }
  }
  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/qscan-dedupe"
    }
  }
  mock_resource "aws_sns_topic" {
    defaults = {
      arn = "arn:aws:sns:eu-west-1:123456789012:qscan-alerts"
    }
  }
  mock_resource "aws_secretsmanager_secret" {
    defaults = {
      arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:qscan/qualys-access-token-AbCdEf"
    }
  }
}

run "defaults_name_by_account_and_region" {
  command = plan

  assert {
    condition     = aws_s3_bucket.this.bucket == "qscan-results-123456789012-eu-west-1"
    error_message = "The results bucket name must carry the account and the region."
  }
  assert {
    condition     = aws_dynamodb_table.this.name == "qscan-dedupe" && aws_sns_topic.this.name == "qscan-alerts"
    error_message = "Table and topic names follow name_prefix."
  }
  assert {
    condition     = aws_secretsmanager_secret.qualys[0].name == "qscan/qualys-access-token"
    error_message = "The Qualys secret is created by default."
  }
}

run "second_region_does_not_collide" {
  command = plan

  override_data {
    target = data.aws_region.current
    values = { name = "ap-southeast-2" }
  }

  assert {
    condition     = aws_s3_bucket.this.bucket == "qscan-results-123456789012-ap-southeast-2"
    error_message = "A second region must get its own bucket name."
  }
}

run "store_settings" {
  command = plan

  assert {
    condition     = aws_kms_key.this.enable_key_rotation
    error_message = "Key rotation must be on."
  }
  assert {
    condition     = aws_dynamodb_table.this.hash_key == "pk" && one(aws_dynamodb_table.this.attribute).type == "S"
    error_message = "The dedupe table is keyed by the string attribute pk."
  }
  assert {
    condition     = one(aws_dynamodb_table.this.ttl).attribute_name == "expires_at" && one(aws_dynamodb_table.this.ttl).enabled
    error_message = "TTL must be on expires_at."
  }
  assert {
    condition     = one(aws_dynamodb_table.this.point_in_time_recovery).enabled && one(aws_dynamodb_table.this.server_side_encryption).enabled
    error_message = "PITR and SSE must be on."
  }
  assert {
    condition     = aws_dynamodb_table.this.billing_mode == "PAY_PER_REQUEST" && aws_dynamodb_table.this.deletion_protection_enabled
    error_message = "On-demand billing with deletion protection by default."
  }
  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled
    error_message = "SSE-KMS must use a bucket key."
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
    error_message = "Results must be encrypted with KMS."
  }
  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.this.block_public_acls,
      aws_s3_bucket_public_access_block.this.block_public_policy,
      aws_s3_bucket_public_access_block.this.ignore_public_acls,
      aws_s3_bucket_public_access_block.this.restrict_public_buckets,
    ])
    error_message = "All four public access blocks must be on."
  }
  assert {
    condition     = one(aws_s3_bucket_versioning.this.versioning_configuration).status == "Enabled"
    error_message = "Versioning must be on."
  }
  assert {
    condition     = length(one(aws_s3_bucket_lifecycle_configuration.this.rule).expiration) == 0
    error_message = "Current results must not expire unless results_expiration_days is set."
  }
  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.this.rule).noncurrent_version_expiration).noncurrent_days == 90
    error_message = "Noncurrent versions expire after 90 days by default."
  }
  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.this.rule).abort_incomplete_multipart_upload).days_after_initiation == 7
    error_message = "Incomplete uploads must be aborted."
  }
  assert {
    condition     = length(aws_s3_bucket_logging.this) == 0 && length(aws_sns_topic_subscription.email) == 0
    error_message = "Access logging and e-mail subscriptions are opt-in."
  }
  assert {
    condition     = output.log_retention_days == 365
    error_message = "Logs are kept a year by default."
  }
}

run "kms_key_policy_is_least_privilege" {
  command = plan

  assert {
    condition = [for s in jsondecode(aws_kms_key.this.policy).Statement : s.Sid] == [
      "EnableIamPolicies", "CloudWatchLogsOfThisAccount", "EventBridgeDeliveryToEncryptedQueues", "CloudWatchAlarmsToEncryptedTopic",
    ]
    error_message = "Unexpected key policy statements."
  }
  assert {
    condition     = jsondecode(aws_kms_key.this.policy).Statement[0].Principal.AWS == "arn:aws:iam::123456789012:root"
    error_message = "Only the account root (IAM delegation) gets kms:*."
  }
  assert {
    condition     = jsondecode(aws_kms_key.this.policy).Statement[1].Principal.Service == "logs.eu-west-1.amazonaws.com"
    error_message = "CloudWatch Logs principal is regional."
  }
  assert {
    condition     = jsondecode(aws_kms_key.this.policy).Statement[1].Condition.ArnLike["kms:EncryptionContext:aws:logs:arn"] == "arn:aws:logs:eu-west-1:123456789012:log-group:*"
    error_message = "CloudWatch Logs may use the key only for this account's log groups."
  }
  assert {
    condition     = jsondecode(aws_kms_key.this.policy).Statement[3].Condition.StringEquals["aws:SourceAccount"] == "123456789012"
    error_message = "CloudWatch alarms are limited to this account."
  }
  assert {
    condition = alltrue([for s in jsondecode(aws_kms_key.this.policy).Statement :
    !contains(try(tolist(s.Action), [s.Action]), "kms:*") if s.Sid != "EnableIamPolicies"])
    error_message = "No service principal may get kms:*."
  }
}

run "bucket_policy_denies_plain_http" {
  command = apply

  assert {
    condition     = jsondecode(aws_s3_bucket_policy.this.policy).Statement[0].Condition.Bool["aws:SecureTransport"] == "false"
    error_message = "The bucket policy must deny requests without TLS."
  }
  assert {
    condition     = jsondecode(aws_s3_bucket_policy.this.policy).Statement[0].Effect == "Deny"
    error_message = "TLS statement must deny."
  }
}

run "handler_environment" {
  command = apply

  assert {
    condition = output.handler_environment == {
      QSCAN_DEDUPE_TABLE       = "qscan-dedupe"
      QSCAN_RESULTS_BUCKET     = "qscan-results-123456789012-eu-west-1"
      QSCAN_RESULTS_KMS_KEY_ID = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
      QSCAN_ALERT_TOPIC_ARN    = "arn:aws:sns:eu-west-1:123456789012:qscan-alerts"
      QSCAN_QUALYS_SECRET_ARN  = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:qscan/qualys-access-token-AbCdEf"
    }
    error_message = "handler_environment must name every store the handlers use."
  }
  assert {
    condition     = output.decrypt_kms_key_arns == tolist(["arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"])
    error_message = "Only the store key needs decrypting when the secret is created here."
  }
}

run "existing_secret" {
  command = apply

  variables {
    create_qualys_secret      = false
    qualys_secret_arn         = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/qualys-XyZ123"
    qualys_secret_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/99999999-2222-3333-4444-555555555555"
  }

  assert {
    condition     = length(aws_secretsmanager_secret.qualys) == 0
    error_message = "No secret is created when an existing one is passed."
  }
  assert {
    condition     = output.qualys_secret_arn == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/qualys-XyZ123"
    error_message = "The existing secret ARN must be passed through."
  }
  assert {
    condition     = contains(output.decrypt_kms_key_arns, "arn:aws:kms:eu-west-1:123456789012:key/99999999-2222-3333-4444-555555555555")
    error_message = "Scanners must be able to decrypt the existing secret's key."
  }
}

run "existing_secret_missing_arn_fails" {
  command = plan

  variables {
    create_qualys_secret = false
  }

  expect_failures = [output.qualys_secret_arn]
}

run "options" {
  command = plan

  variables {
    name_prefix                      = "sec-scan"
    results_expiration_days          = 400
    alert_email_addresses            = ["secops@example.com"]
    results_access_logging           = { target_bucket = "my-log-bucket" }
    log_retention_days               = 30
    tags                             = { owner = "security" }
    dedupe_table_deletion_protection = false
  }

  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.this.rule).expiration).days == 400
    error_message = "results_expiration_days must become an expiration rule."
  }
  assert {
    condition     = aws_sns_topic_subscription.email["secops@example.com"].protocol == "email"
    error_message = "E-mail subscriptions are created."
  }
  assert {
    condition     = aws_s3_bucket_logging.this[0].target_prefix == "qscan-results/"
    error_message = "Access logging uses the default prefix."
  }
  assert {
    condition     = aws_s3_bucket.this.bucket == "sec-scan-results-123456789012-eu-west-1" && aws_kms_alias.this.name == "alias/sec-scan-scan-store"
    error_message = "Names follow name_prefix."
  }
  assert {
    condition     = aws_dynamodb_table.this.tags["owner"] == "security" && aws_sns_topic.this.tags["owner"] == "security" && aws_kms_key.this.tags["owner"] == "security"
    error_message = "Tags are merged into every resource."
  }
}

run "rejects_bad_name_prefix" {
  command = plan
  variables {
    name_prefix = "Qscan_"
  }
  expect_failures = [var.name_prefix]
}

run "rejects_bad_retention" {
  command = plan
  variables {
    log_retention_days = 42
  }
  expect_failures = [var.log_retention_days]
}

run "rejects_bad_secret_arn" {
  command = plan
  variables {
    create_qualys_secret = false
    qualys_secret_arn    = "qscan/qualys"
  }
  expect_failures = [var.qualys_secret_arn]
}

run "rejects_zero_expiration" {
  command = plan
  variables {
    results_expiration_days = 0
  }
  expect_failures = [var.results_expiration_days]
}

run "rejects_bad_email" {
  command = plan
  variables {
    alert_email_addresses = ["not-an-address"]
  }
  expect_failures = [var.alert_email_addresses]
}

# nullable = false: null means no subscriptions (the default), not a failed validation or for_each.
run "null_alert_addresses_subscribe_nobody" {
  command = plan

  variables {
    alert_email_addresses = null
  }

  assert {
    condition     = length(aws_sns_topic_subscription.email) == 0
    error_message = "No addresses, no subscriptions."
  }
}
