# The deployment rule's event pattern, self-exclusion (exact names, own account and region only), the bulk-scan
# schedule and the trail choice (mocked provider: plan only). tests/integration/test_lambda_patterns.py matches
# the rendered pattern against sample events.
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

run "deploy_pattern_by_default" {
  command = plan

  assert {
    condition = output.event_pattern == jsonencode({
      source        = ["aws.lambda"]
      "detail-type" = ["AWS API Call via CloudTrail"]
      detail = {
        eventSource = ["lambda.amazonaws.com"]
        eventName   = ["CreateFunction20150331", "UpdateFunctionCode20150331v2", "UpdateFunctionConfiguration20150331v2"]
        errorCode   = [{ exists = false }]
      }
      "$or" = [
        { account = [{ "anything-but" = "123456789012" }] },
        { region = [{ "anything-but" = "eu-west-1" }] },
        {
          account = ["123456789012"]
          region  = ["eu-west-1"]
          detail = {
            requestParameters = {
              functionName = [{ "anything-but" = { wildcard = [
                "qscan-lambda-scanner",
                "123456789012:function:qscan-lambda-scanner",
                "arn:aws:lambda:eu-west-1:123456789012:function:qscan-lambda-scanner",
                "*123456789012:function:qscan-lambda-scanner:*",
              ] } }]
            }
          }
        },
      ]
    })
    error_message = "Unexpected deployment pattern: ${output.event_pattern}"
  }
  assert {
    condition     = aws_cloudwatch_event_rule.deploy.event_pattern == output.event_pattern && aws_cloudwatch_event_rule.deploy.name == "qscan-lambda-deploy"
    error_message = "The rule must use the rendered pattern."
  }
  assert {
    condition     = aws_cloudwatch_event_rule.deploy.event_bus_name == "default" && aws_cloudwatch_event_target.deploy.event_bus_name == "default"
    error_message = "The rule listens on the default bus unless told otherwise."
  }
  assert {
    condition     = aws_cloudwatch_event_target.deploy.target_id == "scan-queue"
    error_message = "The rule targets the scan queue."
  }
  assert {
    condition     = length(output.event_pattern) <= 2048
    error_message = "The default pattern must fit EventBridge's default pattern size quota."
  }
}

run "pattern_names_exactly_the_three_deploy_calls" {
  command = plan

  assert {
    condition     = toset(jsondecode(output.event_pattern).detail.eventName) == toset(["CreateFunction20150331", "UpdateFunctionCode20150331v2", "UpdateFunctionConfiguration20150331v2"])
    error_message = "The rule must match CreateFunction, UpdateFunctionCode and UpdateFunctionConfiguration (versioned CloudTrail names)."
  }
  assert {
    condition     = !anytrue([for n in jsondecode(output.event_pattern).detail.eventName : strcontains(n, "TagResource") || strcontains(n, "Url")])
    error_message = "TagResource (the scanner's own tagging) and function URL calls must not trigger scans."
  }
  assert {
    condition     = jsondecode(output.event_pattern).source == ["aws.lambda"] && jsondecode(output.event_pattern).detail.eventSource == ["lambda.amazonaws.com"]
    error_message = "Only Lambda's own CloudTrail events."
  }
}

run "own_names_follow_name_prefix_and_are_exact" {
  command = plan

  variables {
    name_prefix = "secscan"
  }

  assert {
    condition = jsondecode(output.event_pattern)["$or"][2].detail.requestParameters.functionName == [{ "anything-but" = { wildcard = [
      "secscan-lambda-scanner",
      "123456789012:function:secscan-lambda-scanner",
      "arn:aws:lambda:eu-west-1:123456789012:function:secscan-lambda-scanner",
      "*123456789012:function:secscan-lambda-scanner:*",
    ] } }]
    error_message = "The scanner's own function (name, partial ARN, ARN, qualified) must be excluded: ${output.event_pattern}"
  }
  assert {
    condition     = !anytrue([for form in jsondecode(output.event_pattern)["$or"][2].detail.requestParameters.functionName[0]["anything-but"].wildcard : endswith(form, "secscan-*") || endswith(form, "secscan-")])
    error_message = "No prefix wildcard: a customer's secscan-billing must be scanned."
  }
  assert {
    condition     = output.self_function_names == tolist(["secscan-lambda-scanner"]) && module.worker.function.function_name == output.self_function_names[0]
    error_message = "The module's own name must be the scanner function's real name."
  }
  assert {
    condition     = module.worker.function.environment[0].variables["QSCAN_SELF_FUNCTION_NAMES"] == "secscan-lambda-scanner" && !contains(keys(module.worker.function.environment[0].variables), "QSCAN_SELF_FUNCTION_PREFIX")
    error_message = "The handler must get the same names (and no prefix) to skip."
  }
}

run "own_names_include_the_ones_passed_in" {
  command = plan

  variables {
    self_function_names = ["qscan-ecr-scanner", "qscan-lambda-scanner", "sec-forwarder"]
  }

  assert {
    condition     = output.self_function_names == tolist(["qscan-lambda-scanner", "qscan-ecr-scanner", "sec-forwarder"])
    error_message = "This module's scanner first, then the given names without duplicates."
  }
  assert {
    condition     = length(jsondecode(output.event_pattern)["$or"][2].detail.requestParameters.functionName[0]["anything-but"].wildcard) == 12 && contains(jsondecode(output.event_pattern)["$or"][2].detail.requestParameters.functionName[0]["anything-but"].wildcard, "arn:aws:lambda:eu-west-1:123456789012:function:qscan-ecr-scanner")
    error_message = "Every own name is excluded in its four forms: ${output.event_pattern}"
  }
  assert {
    condition     = module.worker.function.environment[0].variables["QSCAN_SELF_FUNCTION_NAMES"] == "qscan-lambda-scanner,qscan-ecr-scanner,sec-forwarder"
    error_message = "The handler skips the same names."
  }
}

run "other_accounts_and_regions_are_never_excluded_by_name" {
  command = plan

  assert {
    condition = [for branch in jsondecode(output.event_pattern)["$or"] : keys(branch)] == [
      ["account"], ["region"], ["account", "detail", "region"],
    ]
    error_message = "Only the branch of this account's and region's events carries the name exclusion."
  }
  assert {
    condition     = jsondecode(output.event_pattern)["$or"][0].account == [{ "anything-but" = "123456789012" }] && jsondecode(output.event_pattern)["$or"][1].region == [{ "anything-but" = "eu-west-1" }]
    error_message = "Events of another account or region (spokes forwarding to a hub bus) match whatever the function is called."
  }
  assert {
    condition     = !contains(keys(jsondecode(output.event_pattern).detail), "requestParameters")
    error_message = "The outer pattern must not constrain the function name (the branches do)."
  }
}

run "deprecated_prefix_is_ignored_with_a_warning" {
  command = plan

  variables {
    self_function_prefix = "platform-security"
  }

  # The check block turns the deprecated setting into a warning; the plan still succeeds.
  expect_failures = [check.self_function_prefix_is_deprecated]

  assert {
    condition     = !strcontains(output.event_pattern, "platform-security") && output.self_function_prefix == null
    error_message = "The deprecated prefix must not reach the pattern."
  }
  assert {
    condition     = module.worker.function.environment[0].variables["QSCAN_SELF_FUNCTION_NAMES"] == "qscan-lambda-scanner" && !contains(keys(module.worker.function.environment[0].variables), "QSCAN_SELF_FUNCTION_PREFIX")
    error_message = "The deprecated prefix must not reach the handler."
  }
}

run "too_many_long_own_names_exceed_the_pattern_quota" {
  command = plan

  variables {
    self_function_names = [for i in range(8) : "${i}-an-own-function-with-a-rather-long-name-of-qscan-platform-team"]
  }

  expect_failures = [aws_cloudwatch_event_rule.deploy]
}

run "custom_event_bus_needs_no_trail" {
  command = plan

  variables {
    event_bus_name     = "qscan-hub"
    existing_trail_arn = null
  }

  assert {
    condition     = aws_cloudwatch_event_rule.deploy.event_bus_name == "qscan-hub" && aws_cloudwatch_event_target.deploy.event_bus_name == "qscan-hub"
    error_message = "Rule and target must use the given bus."
  }
  assert {
    condition     = output.trail_arn == null
    error_message = "Events forwarded to a hub bus come from the spokes' trails."
  }
}

run "default_bus_without_any_trail_fails" {
  command = plan

  variables {
    existing_trail_arn = null
  }

  expect_failures = [aws_cloudwatch_event_rule.deploy]
}

run "bulk_scan_absent_by_default" {
  command = plan

  assert {
    condition     = length(aws_cloudwatch_event_rule.bulk_scan) == 0 && length(aws_cloudwatch_event_target.bulk_scan) == 0
    error_message = "No bulk-scan schedule unless asked for."
  }
  assert {
    condition     = output.bulk_scan_rule_name == null && output.bulk_scan_input == null
    error_message = "Bulk-scan outputs are null without a schedule."
  }
}

run "bulk_scan_schedule" {
  command = plan

  variables {
    bulk_scan_schedule_expression = "rate(1 day)"
    event_bus_name                = "qscan-hub"
  }

  assert {
    condition     = aws_cloudwatch_event_rule.bulk_scan[0].name == "qscan-lambda-bulk-scan" && aws_cloudwatch_event_rule.bulk_scan[0].schedule_expression == "rate(1 day)"
    error_message = "The schedule rule must carry the expression."
  }
  assert {
    condition     = aws_cloudwatch_event_rule.bulk_scan[0].event_bus_name == "default" && aws_cloudwatch_event_target.bulk_scan[0].event_bus_name == "default"
    error_message = "Scheduled rules exist only on the default bus, even when deployments come from a hub bus."
  }
  assert {
    condition = jsondecode(aws_cloudwatch_event_target.bulk_scan[0].input) == {
      version       = "0"
      source        = "qscan.bulk-scan"
      "detail-type" = "qscan Bulk Scan Request"
      account       = "123456789012"
      region        = "eu-west-1"
      detail        = { platform = "lambda" }
    }
    error_message = "Unexpected bulk-scan request: ${aws_cloudwatch_event_target.bulk_scan[0].input}"
  }
  assert {
    condition     = output.bulk_scan_input == aws_cloudwatch_event_target.bulk_scan[0].input
    error_message = "The request is an output for tests and the handler team."
  }
  assert {
    condition     = aws_cloudwatch_event_target.bulk_scan[0].target_id == "scan-queue" && aws_cloudwatch_event_rule.bulk_scan[0].event_pattern == null
    error_message = "The schedule feeds the same scan queue and matches no events."
  }
}
