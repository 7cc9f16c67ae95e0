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
    local_path       = "dist/lambda-handler.zip"
    source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  }
  qscanner_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:qscanner:7"
  existing_trail_arn = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-trail"
}

run "rejects_self_prefix_with_wildcard" {
  command = plan
  variables {
    self_function_prefix = "qscan-*"
  }
  expect_failures = [var.self_function_prefix]
}

run "rejects_empty_self_prefix" {
  command = plan
  variables {
    self_function_prefix = ""
  }
  expect_failures = [var.self_function_prefix]
}

run "rejects_own_function_name_patterns" {
  command = plan
  variables {
    self_function_names = ["qscan-*"]
  }
  expect_failures = [var.self_function_names]
}

run "rejects_own_function_arns_and_empty_names" {
  command = plan
  variables {
    self_function_names = ["arn:aws:lambda:eu-west-1:123456789012:function:qscan-ecr-scanner", ""]
  }
  expect_failures = [var.self_function_names]
}

run "rejects_more_than_eight_own_function_names" {
  command = plan
  variables {
    self_function_names = [for i in range(9) : "fn-${i}"]
  }
  expect_failures = [var.self_function_names]
}

run "null_own_function_names_is_the_scanner_alone" {
  command = plan
  variables {
    self_function_names = null
  }
  assert {
    condition     = output.self_function_names == tolist(["qscan-lambda-scanner"])
    error_message = "null (not nullable) falls back to the default: only this module's scanner."
  }
}

run "rejects_existing_trail_that_is_not_a_trail_arn" {
  command = plan
  variables {
    existing_trail_arn = "org-trail"
  }
  expect_failures = [var.existing_trail_arn]
}

run "rejects_bad_schedule_expression" {
  command = plan
  variables {
    bulk_scan_schedule_expression = "every day"
  }
  expect_failures = [var.bulk_scan_schedule_expression]
}

run "rejects_zero_rate" {
  command = plan
  variables {
    bulk_scan_schedule_expression = "rate(0 days)"
  }
  expect_failures = [var.bulk_scan_schedule_expression]
}

run "accepts_cron_schedule" {
  command = plan
  variables {
    bulk_scan_schedule_expression = "cron(0 3 ? * SUN *)"
  }
  assert {
    condition     = aws_cloudwatch_event_rule.bulk_scan[0].schedule_expression == "cron(0 3 ? * SUN *)"
    error_message = "A cron expression is passed through."
  }
}

run "rejects_event_bus_arn" {
  command = plan
  variables {
    event_bus_name = "arn:aws:events:eu-west-1:123456789012:event-bus/qscan-hub"
  }
  expect_failures = [var.event_bus_name]
}
