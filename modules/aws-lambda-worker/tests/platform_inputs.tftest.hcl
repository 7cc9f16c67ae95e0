# The platform inputs' validations (platform_inputs.tf), written once: the worker runs this file itself, and
# `make tf-test` (scripts/tf_validate.py) runs it in every module that carries a copy of platform_inputs.tf
# (modules/ecr, modules/lambda, modules/fargate), in a scratch copy of modules/. So every run may only name
# var.core and var.tags and must plan in each of those modules: the variables below are what any of them
# needs; terraform test ignores the ones a module does not declare (platform, descriptions, ... are the
# worker's, existing_trail_arn is modules/lambda's and modules/fargate's). Each module's tests/mocks provides
# the mocked provider.
mock_provider "aws" {
  source = "./tests/mocks"
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
    local_path       = "dist/handler.zip"
    source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  }
  qscanner_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:qscanner:7"

  # modules/aws-lambda-worker only
  platform = "test"
  descriptions = {
    title        = "Test"
    function     = "qscan: scans test workloads with qscanner"
    role         = "qscan test scanner"
    dead_letters = "Test events"
    queued_event = "test event"
  }
  source_rule_arns    = ["arn:aws:events:eu-west-1:123456789012:rule/qscan-test"]
  qscanner_layer_name = "qscan-test-qscanner"
  platform_policy_statements = {
    read = jsonencode([{ Sid = "ReadWorkloads", Effect = "Allow", Action = "test:Read", Resource = "*" }])
  }

  # modules/lambda and modules/fargate: some trail must feed the default bus
  existing_trail_arn = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-trail"
}

run "defaults_plan" {
  command = plan
}

run "rejects_core_with_bad_kms_arn" {
  command = plan
  variables {
    core = merge(var.core, { kms_key_arn = "alias/qscan" })
  }
  expect_failures = [var.core]
}

run "rejects_core_without_store_environment" {
  command = plan
  variables {
    core = merge(var.core, { handler_environment = { QSCAN_DEDUPE_TABLE = "qscan-dedupe" } })
  }
  expect_failures = [var.core]
}

run "rejects_unknown_severity" {
  command = plan
  variables {
    severity_threshold = "severe"
  }
  expect_failures = [var.severity_threshold]
}

run "rejects_powertools_era_informational_severity" {
  command = plan
  variables {
    severity_threshold = "INFORMATIONAL"
  }
  expect_failures = [var.severity_threshold]
}

run "rejects_aws_metrics_namespace" {
  command = plan
  variables {
    metrics_namespace = "AWS/Lambda"
  }
  expect_failures = [var.metrics_namespace]
}
