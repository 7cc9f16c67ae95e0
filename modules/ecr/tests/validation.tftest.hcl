# Inputs that would fail late (at apply or at runtime) are rejected at plan time.
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
    local_path       = "dist/ecr-handler.zip"
    source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  }
  qscanner_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:qscanner:7"
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

run "rejects_unknown_severity" {
  command = plan
  variables {
    severity_threshold = "severe"
  }
  expect_failures = [var.severity_threshold]
}

run "rejects_unknown_scan_type" {
  command = plan
  variables {
    scan_types = ["os", "virus"]
  }
  expect_failures = [var.scan_types]
}

run "rejects_relative_qscanner_path" {
  command = plan
  variables {
    qscanner_path = "bin/qscanner"
  }
  expect_failures = [var.qscanner_path]
}

run "rejects_powertools_era_informational_severity" {
  command = plan
  variables {
    severity_threshold = "INFORMATIONAL"
  }
  expect_failures = [var.severity_threshold]
}

run "accepts_none_severity" {
  command = plan
  variables {
    severity_threshold = "NONE"
  }
  assert {
    condition     = module.worker.function.environment[0].variables["QSCAN_SEVERITY_THRESHOLD"] == "NONE"
    error_message = "NONE is a core threshold (findings never alert)."
  }
}

run "severity_is_passed_upper_case" {
  command = plan
  variables {
    severity_threshold = "critical"
  }
  assert {
    condition     = module.worker.function.environment[0].variables["QSCAN_SEVERITY_THRESHOLD"] == "CRITICAL"
    error_message = "The handler gets the core's spelling of the threshold."
  }
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

run "rejects_aws_metrics_namespace" {
  command = plan
  variables {
    metrics_namespace = "AWS/Lambda"
  }
  expect_failures = [var.metrics_namespace]
}

run "rejects_core_with_bad_kms_arn" {
  command = plan
  variables {
    core = merge(var.core, { kms_key_arn = "alias/qscan" })
  }
  expect_failures = [var.core]
}

run "derived_scan_timeout_leaves_margin_for_short_timeouts" {
  command = plan
  variables {
    timeout = 60
  }
  assert {
    condition     = module.worker.function.environment[0].variables["QSCAN_SCAN_TIMEOUT_SECONDS"] == "30"
    error_message = "A 60 s function must give qscanner 30 s and keep 30 s for persist and notify."
  }
}

run "accepts_s3_artifact" {
  command = plan
  variables {
    handler_artifact = { s3_bucket = "artifacts-123456789012", s3_key = "qscan/ecr-handler.zip", s3_object_version = "3" }
  }
  assert {
    condition     = module.worker.function.s3_key == "qscan/ecr-handler.zip" && module.worker.function.filename == null
    error_message = "S3 artifacts are deployed from S3."
  }
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
