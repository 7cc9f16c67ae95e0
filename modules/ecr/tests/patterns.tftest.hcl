# Event patterns and repository filters (plan against a mocked provider).
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

run "native_pattern_by_default" {
  command = plan

  assert {
    condition = output.native_event_pattern == jsonencode({
      source        = ["aws.ecr"]
      "detail-type" = ["ECR Image Action"]
      detail        = { "action-type" = ["PUSH"], result = ["SUCCESS"] }
    })
    error_message = "Unexpected native pattern: ${output.native_event_pattern}"
  }
  assert {
    condition     = aws_cloudwatch_event_rule.native.event_pattern == output.native_event_pattern
    error_message = "The rule must use the rendered pattern."
  }
  assert {
    condition     = aws_cloudwatch_event_rule.native.event_bus_name == "default"
    error_message = "Rules listen on the default bus unless told otherwise."
  }
}

run "cloudtrail_rule_absent_by_default" {
  command = plan

  assert {
    condition     = length(aws_cloudwatch_event_rule.cloudtrail) == 0 && length(aws_cloudwatch_event_target.cloudtrail) == 0
    error_message = "The CloudTrail PutImage rule must be off by default."
  }
  assert {
    condition     = output.cloudtrail_event_pattern == null && output.cloudtrail_rule_name == null
    error_message = "CloudTrail outputs are null when the rule is off."
  }
}

run "cloudtrail_rule_when_enabled" {
  command = plan

  variables {
    enable_cloudtrail_putimage = true
  }

  assert {
    condition     = aws_cloudwatch_event_rule.cloudtrail[0].name == "qscan-ecr-putimage"
    error_message = "The CloudTrail rule must exist when enabled."
  }
  assert {
    condition = output.cloudtrail_event_pattern == jsonencode({
      source        = ["aws.ecr"]
      "detail-type" = ["AWS API Call via CloudTrail"]
      detail = {
        eventSource = ["ecr.amazonaws.com"]
        eventName   = ["PutImage"]
        errorCode   = [{ exists = false }]
      }
    })
    error_message = "Unexpected CloudTrail pattern: ${output.cloudtrail_event_pattern}"
  }
  assert {
    condition     = aws_cloudwatch_event_target.cloudtrail[0].target_id == "scan-queue"
    error_message = "The CloudTrail rule must target the scan queue."
  }
}

run "include_patterns_render_exact_prefix_and_wildcard" {
  command = plan

  variables {
    enable_cloudtrail_putimage = true
    repository_include         = ["payments", "team-*", "*/prod-*", "web*api*"]
  }

  assert {
    condition = jsondecode(output.native_event_pattern).detail["repository-name"] == jsondecode(jsonencode([
      "payments", { prefix = "team-" }, { wildcard = "*/prod-*" }, { wildcard = "web*api*" },
    ]))
    error_message = "Unexpected include matchers: ${output.native_event_pattern}"
  }
  assert {
    condition     = jsondecode(output.cloudtrail_event_pattern).detail.requestParameters.repositoryName == jsondecode(output.native_event_pattern).detail["repository-name"]
    error_message = "The CloudTrail rule must filter on requestParameters.repositoryName with the same matchers."
  }
  assert {
    condition     = jsondecode(output.native_event_pattern).detail["action-type"] == ["PUSH"]
    error_message = "Filters must not drop the push conditions."
  }
}

run "exclude_exact_names_render_anything_but_list" {
  command = plan

  variables {
    repository_exclude = ["sandbox", "legacy/app"]
  }

  assert {
    condition     = jsonencode(jsondecode(output.native_event_pattern).detail["repository-name"]) == jsonencode([{ "anything-but" = ["sandbox", "legacy/app"] }])
    error_message = "Exact excludes must render one anything-but list: ${output.native_event_pattern}"
  }
}

run "exclude_patterns_render_one_anything_but_wildcard" {
  command = plan

  variables {
    enable_cloudtrail_putimage = true
    repository_exclude         = ["sandbox-*", "legacy"]
  }

  assert {
    condition     = jsonencode(jsondecode(output.native_event_pattern).detail["repository-name"]) == jsonencode([{ "anything-but" = { wildcard = ["sandbox-*", "legacy"] } }])
    error_message = "Wildcard excludes must render a single anything-but wildcard (several anything-but matchers would OR): ${output.native_event_pattern}"
  }
  assert {
    condition     = jsonencode(jsondecode(output.cloudtrail_event_pattern).detail.requestParameters.repositoryName) == jsonencode([{ "anything-but" = { wildcard = ["sandbox-*", "legacy"] } }])
    error_message = "The CloudTrail rule must carry the same exclusion."
  }
}

run "include_and_exclude_together_fail" {
  command = plan

  variables {
    repository_include = ["team-*"]
    repository_exclude = ["team-sandbox"]
  }

  expect_failures = [aws_cloudwatch_event_rule.native]
}

run "rejects_uppercase_pattern" {
  command = plan
  variables {
    repository_include = ["Payments"]
  }
  expect_failures = [var.repository_include]
}

run "rejects_double_star" {
  command = plan
  variables {
    repository_include = ["team-**"]
  }
  expect_failures = [var.repository_include]
}

run "rejects_match_all_exclude" {
  command = plan
  variables {
    repository_exclude = ["*"]
  }
  expect_failures = [var.repository_exclude]
}

run "custom_event_bus" {
  command = plan

  variables {
    event_bus_name = "qscan-hub"
  }

  assert {
    condition     = aws_cloudwatch_event_rule.native.event_bus_name == "qscan-hub" && aws_cloudwatch_event_target.native.event_bus_name == "qscan-hub"
    error_message = "Rule and target must use the given bus."
  }
}

# nullable = false: null filters are the empty default (every repository), not a failed validation.
run "null_repository_filters_scan_every_repository" {
  command = plan

  variables {
    repository_include = null
    repository_exclude = null
  }

  assert {
    condition     = !strcontains(output.native_event_pattern, "repository-name")
    error_message = "Without filters every repository is scanned: ${output.native_event_pattern}"
  }
}
