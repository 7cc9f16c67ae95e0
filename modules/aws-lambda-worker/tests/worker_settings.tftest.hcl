# The worker settings' validations (worker_settings.tf), written once: the worker runs this file itself, and
# `make tf-test` (scripts/tf_validate.py) runs it in every module that carries a copy of worker_settings.tf
# (modules/ecr, modules/lambda), in a scratch copy of modules/. So every run may only name the settings
# (var.<setting>) and must plan in each of those modules: the variables below are what any of them needs;
# terraform test ignores the ones a module does not declare (platform, descriptions, ... are the worker's,
# existing_trail_arn is modules/lambda's). Each module's tests/mocks provides the mocked provider.
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

  # modules/lambda only: some trail must feed the default bus
  existing_trail_arn = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-trail"
}

run "defaults_plan" {
  command = plan
}

run "rejects_handler_artifact_with_two_sources" {
  command = plan
  variables {
    handler_artifact = { local_path = "dist/h.zip", s3_bucket = "b", s3_key = "k" }
  }
  expect_failures = [var.handler_artifact]
}

run "rejects_handler_artifact_without_source" {
  command = plan
  variables {
    handler_artifact = { source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" }
  }
  expect_failures = [var.handler_artifact]
}

run "rejects_handler_artifact_s3_without_key" {
  command = plan
  variables {
    handler_artifact = { s3_bucket = "artifacts" }
  }
  expect_failures = [var.handler_artifact]
}

run "rejects_handler_artifact_bad_hash" {
  command = plan
  variables {
    handler_artifact = { local_path = "dist/h.zip", source_code_hash = "deadbeef" }
  }
  expect_failures = [var.handler_artifact]
}

run "rejects_handler_artifact_not_zip" {
  command = plan
  variables {
    handler_artifact = { local_path = "dist/handler.py" }
  }
  expect_failures = [var.handler_artifact]
}

run "rejects_layer_artifact_with_two_sources" {
  command = plan
  variables {
    qscanner_layer_artifact = { local_path = "dist/l.zip", s3_bucket = "b", s3_key = "k" }
  }
  expect_failures = [var.qscanner_layer_artifact]
}

run "rejects_layer_arn_without_version" {
  command = plan
  variables {
    qscanner_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:qscanner"
  }
  expect_failures = [var.qscanner_layer_arn]
}

run "rejects_memory_too_small" {
  command = plan
  variables {
    memory_size = 64
  }
  expect_failures = [var.memory_size]
}

run "rejects_timeout_above_lambda_limit" {
  command = plan
  variables {
    timeout = 901
  }
  expect_failures = [var.timeout]
}

run "rejects_ephemeral_storage_too_small" {
  command = plan
  variables {
    ephemeral_storage_size = 256
  }
  expect_failures = [var.ephemeral_storage_size]
}

run "rejects_maximum_concurrency_below_two" {
  command = plan
  variables {
    maximum_concurrency = 1
  }
  expect_failures = [var.maximum_concurrency]
}

run "rejects_maximum_concurrency_above_limit" {
  command = plan
  variables {
    maximum_concurrency = 1001
  }
  expect_failures = [var.maximum_concurrency]
}

run "rejects_batch_size_too_large" {
  command = plan
  variables {
    batch_size = 11
  }
  expect_failures = [var.batch_size]
}

run "rejects_max_receive_count_zero" {
  command = plan
  variables {
    max_receive_count = 0
  }
  expect_failures = [var.max_receive_count]
}

run "rejects_unknown_scan_type" {
  command = plan
  variables {
    scan_types = ["os", "virus"]
  }
  expect_failures = [var.scan_types]
}

run "rejects_unknown_sbom_format" {
  command = plan
  variables {
    sbom_format = "swid"
  }
  expect_failures = [var.sbom_format]
}

run "rejects_relative_qscanner_path" {
  command = plan
  variables {
    qscanner_path = "bin/qscanner"
  }
  expect_failures = [var.qscanner_path]
}

run "rejects_bad_handler_name" {
  command = plan
  variables {
    handler = "handler"
  }
  expect_failures = [var.handler]
}

run "rejects_bad_name_prefix" {
  command = plan
  variables {
    name_prefix = "QScan"
  }
  expect_failures = [var.name_prefix]
}

run "rejects_malformed_organization_id" {
  command = plan
  variables {
    organization_id = "org-1234567890"
  }
  expect_failures = [var.organization_id]
}

run "rejects_a_retry_backoff_cap_below_its_base" {
  command = plan
  variables {
    retry_backoff = { base_seconds = 600, max_seconds = 60 }
  }
  expect_failures = [var.retry_backoff]
}

run "rejects_a_retry_backoff_beyond_the_sqs_visibility_limit" {
  command = plan
  variables {
    retry_backoff = { max_seconds = 43201 }
  }
  expect_failures = [var.retry_backoff]
}

run "rejects_organization_id_that_is_an_account" {
  command = plan
  variables {
    organization_id = "123456789012"
  }
  expect_failures = [var.organization_id]
}

run "rejects_a_fractional_cache_cap" {
  command = plan
  variables {
    scanner_cache_max_mb = 1.5
  }
  expect_failures = [var.scanner_cache_max_mb]
}

run "rejects_a_negative_cache_cap" {
  command = plan
  variables {
    scanner_cache_max_mb = -1
  }
  expect_failures = [var.scanner_cache_max_mb]
}

run "accepts_no_cache" {
  command = plan
  variables {
    scanner_cache_max_mb = 0
  }
}

run "accepts_s3_artifacts" {
  command = plan
  variables {
    handler_artifact        = { s3_bucket = "artifacts-123456789012", s3_key = "qscan/handler.zip", s3_object_version = "3" }
    qscanner_layer_artifact = { s3_bucket = "artifacts-123456789012", s3_key = "qscan/qscanner-layer.zip" }
    qscanner_layer_arn      = null
  }
}

# nullable = false: a null collection means its default (the validations and merge()/join() never see null).
run "null_collections_fall_back_to_their_defaults" {
  command = plan
  variables {
    tags                  = null
    scan_types            = null
    additional_layer_arns = null
    environment_variables = null
    retry_backoff         = null
  }
}
