# The shared building block on its own (mocked provider): platform-derived names, the environment merge, where
# platform IAM statements go, and the preconditions the platform modules rely on (a platform module's tests
# cannot expect failures from resources inside this child module).
mock_provider "aws" {
  source = "./tests/mocks"
}

override_resource {
  target = aws_sqs_queue.this
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:qscan-test-scan"
    id  = "https://sqs.eu-west-1.amazonaws.com/123456789012/qscan-test-scan"
  }
}

override_resource {
  target = aws_sqs_queue.dlq
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:qscan-test-scan-dlq"
    id  = "https://sqs.eu-west-1.amazonaws.com/123456789012/qscan-test-scan-dlq"
  }
}

variables {
  name_prefix = "qscan"
  platform    = "test"
  tags        = { team = "secops" }
  descriptions = {
    title        = "Test"
    function     = "qscan: scans test workloads with qscanner"
    role         = "qscan test scanner"
    dead_letters = "Test events"
    queued_event = "test event"
  }
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
  source_rule_arns                = ["arn:aws:events:eu-west-1:123456789012:rule/qscan-test-a", "arn:aws:events:eu-west-1:123456789012:rule/qscan-test-b"]
  max_receive_count               = 3
  queue_message_retention_seconds = 345600
  retry_backoff                   = { base_seconds = 60, max_seconds = 900 }
  handler_artifact                = { local_path = "dist/test-handler.zip", source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" }
  handler                         = "handler.lambda_handler"
  qscanner_layer_name             = "qscan-test-qscanner"
  qscanner_layer_artifact         = null
  qscanner_layer_arn              = "arn:aws:lambda:eu-west-1:123456789012:layer:qscanner:7"
  additional_layer_arns           = []
  qscanner_path                   = null
  memory_size                     = 3008
  timeout                         = 900
  ephemeral_storage_size          = 10240
  reserved_concurrent_executions  = null
  maximum_concurrency             = 5
  create_event_source_mapping     = true
  batch_size                      = 1
  vpc_config                      = null
  code_signing_config_arn         = null
  environment_variables           = {}
  platform_policy_statements = {
    read = jsonencode([{ Sid = "ReadWorkloads", Effect = "Allow", Action = "test:Read", Resource = "*" }])
  }
  severity_threshold      = "high"
  scan_types              = ["os", "sca"]
  scan_timeout_seconds    = null
  spoke_role_name         = null
  spoke_external_id       = null
  log_level               = "INFO"
  metrics_namespace       = "qscan"
  queue_age_alarm_seconds = 3600
  create_dashboard        = true
}

run "names_follow_prefix_and_platform" {
  command = plan

  assert {
    condition = (
      aws_lambda_function.this.function_name == "qscan-test-scanner" &&
      aws_sqs_queue.this.name == "qscan-test-scan" && aws_sqs_queue.dlq.name == "qscan-test-scan-dlq" &&
      aws_iam_role.this.name == "qscan-test-scanner-eu-west-1" &&
      module.dashboard.dashboard.dashboard_name == "qscan-test-eu-west-1" &&
      aws_cloudwatch_log_group.this.name == "/aws/lambda/qscan-test-scanner"
    )
    error_message = "Names are <name_prefix>-<platform>-...; global ones carry the region."
  }
  assert {
    condition = [for alarm in [
      aws_cloudwatch_metric_alarm.lambda_errors, aws_cloudwatch_metric_alarm.lambda_throttles,
      aws_cloudwatch_metric_alarm.dlq_visible, aws_cloudwatch_metric_alarm.queue_age,
    ] : alarm.alarm_name] == ["qscan-test-scanner-errors", "qscan-test-scanner-throttles", "qscan-test-scan-dlq-not-empty", "qscan-test-scan-queue-stalled"]
    error_message = "Alarm names follow the function and queue names."
  }
  assert {
    condition = (
      aws_lambda_function.this.description == "qscan: scans test workloads with qscanner" &&
      aws_iam_role.this.description == "qscan test scanner (eu-west-1)" &&
      startswith(aws_cloudwatch_metric_alarm.lambda_errors.alarm_description, "qscan Test scanner invocations failed") &&
      startswith(aws_cloudwatch_metric_alarm.dlq_visible.alarm_description, "Test events were dead-lettered") &&
      startswith(aws_cloudwatch_metric_alarm.queue_age.alarm_description, "The oldest waiting test event is older than 3600 s")
    )
    error_message = "The platform's texts reach the descriptions."
  }
  assert {
    condition     = aws_sqs_queue.this.tags == tomap({ team = "secops" }) && aws_lambda_function.this.tags == tomap({ team = "secops" })
    error_message = "Tags are passed as given."
  }
}

run "dashboard_has_the_worker_health_row" {
  command = plan

  variables {
    metrics_namespace = "secops/qscan"
  }

  assert {
    condition = [for widget in jsondecode(module.dashboard.dashboard.dashboard_body).widgets : widget.properties.title] == [
      "Scans", "Findings by severity", "Scanner function", "Scan queue: age of oldest event (s)", "Dead-letter queue depth",
      "Scans per account", "Failures per account",
    ]
    error_message = "The shared dashboard (modules/aws-dashboard) with the function, queue-age and DLQ widgets."
  }
  assert {
    condition = (
      jsondecode(module.dashboard.dashboard.dashboard_body).widgets[2].properties.metrics[0] == ["AWS/Lambda", "Invocations", "FunctionName", "qscan-test-scanner"] &&
      jsondecode(module.dashboard.dashboard.dashboard_body).widgets[3].properties.annotations.horizontal[0].value == 3600 &&
      jsondecode(module.dashboard.dashboard.dashboard_body).widgets[4].properties.metrics[0] == ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "qscan-test-scan-dlq"]
    )
    error_message = "The health widgets read the worker's function and queues; the queue-age widget draws the alarm threshold."
  }
  assert {
    condition     = jsondecode(module.dashboard.dashboard.dashboard_body).widgets[0].properties.metrics[0] == ["secops/qscan", "ScansStarted", "service", "qscan-test"]
    error_message = "The dashboard reads the handler's namespace and service (QSCAN_METRICS_NAMESPACE, QSCAN_SERVICE_NAME)."
  }
}

run "environment_merge_order" {
  command = plan

  variables {
    environment_variables = { EXTRA = "1", QSCAN_DEDUPE_TABLE = "lost", QSCAN_OWN = "lost", QSCAN_LOG_LEVEL = "lost" }
    platform_environment  = { QSCAN_OWN = "platform", QSCAN_RESULTS_BUCKET = "platform", QSCAN_LOG_LEVEL = "lost", QSCAN_NULL = null }
  }

  assert {
    condition = aws_lambda_function.this.environment[0].variables == tomap({
      EXTRA                      = "1"
      QSCAN_DEDUPE_TABLE         = "qscan-dedupe"
      QSCAN_RESULTS_BUCKET       = "platform"
      QSCAN_RESULTS_KMS_KEY_ID   = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
      QSCAN_ALERT_TOPIC_ARN      = "arn:aws:sns:eu-west-1:123456789012:qscan-alerts"
      QSCAN_QUALYS_SECRET_ARN    = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:qscan/qualys-access-token-AbCdEf"
      QSCAN_OWN                  = "platform"
      QSCAN_SEVERITY_THRESHOLD   = "HIGH"
      QSCAN_SCAN_TYPES           = "os,sca"
      QSCAN_SBOM_FORMAT          = "off"
      QSCAN_SCAN_TIMEOUT_SECONDS = "720"
      QSCAN_SCANNER_CACHE_MAX_MB = "2048"
      QSCANNER_PATH              = "/opt/bin/qscanner"
      QSCAN_SERVICE_NAME         = "qscan-test"
      QSCAN_METRICS_NAMESPACE    = "qscan"
      QSCAN_LOG_LEVEL            = "INFO"

      QSCAN_MAX_RECEIVE_COUNT          = "3"
      QSCAN_RETRY_BACKOFF_BASE_SECONDS = "60"
      QSCAN_RETRY_BACKOFF_MAX_SECONDS  = "900"
      QSCAN_DEAD_LETTER_QUEUE_ARN      = "arn:aws:sqs:eu-west-1:123456789012:qscan-test-scan-dlq"
    })
    error_message = "Extra < core < platform < common settings; null values are left out."
  }
}

run "platform_statements_go_after_queue_and_after_store" {
  command = apply

  variables {
    platform_policy_statements = {
      read     = jsonencode([{ Sid = "ReadWorkloads", Effect = "Allow", Action = "test:Read", Resource = "*" }])
      optional = jsonencode([{ Sid = "TagWorkloads", Effect = "Allow", Action = ["test:Tag"], Resource = ["arn:aws:test:::x"] }])
    }
    spoke_role_name = "qscan-spoke-read"
    vpc_config      = { subnet_ids = ["subnet-0123456789abcdef0"], security_group_ids = ["sg-0123456789abcdef0"] }
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Sid] == [
      "OwnLogGroup", "XRayTracing", "ConsumeScanQueue", "ReadWorkloads", "DedupeClaims", "WriteResults",
      "PublishAlerts", "ReadQualysToken", "UseStoreKeysThroughServices", "TagWorkloads", "AssumeSpokeReadRole",
      "VpcNetworkInterfaces", "RequeueAndDeadLetter",
    ]
    error_message = "Unexpected statement order."
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.this.policy).Statement[3] == { Sid = "ReadWorkloads", Effect = "Allow", Action = "test:Read", Resource = "*" }
    error_message = "Platform statements keep their exact shape (a single action stays a string)."
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.this.policy).Statement[9].Action == ["test:Tag"]
    error_message = "Platform statements keep their exact shape (a list stays a list)."
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.this.policy).Statement[5].Resource == "arn:aws:s3:::qscan-results-123456789012-eu-west-1/results/test/*"
    error_message = "Results may be written only under results/<platform>/."
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.this.policy).Statement[2].Resource == aws_sqs_queue.this.arn
    error_message = "The role consumes its own queue."
  }
}

run "queue_policies_admit_exactly_the_given_rules" {
  command = apply

  assert {
    condition = alltrue([for policy in [aws_sqs_queue_policy.this.policy, aws_sqs_queue_policy.dlq.policy] :
      jsondecode(policy).Statement[0].Condition.ArnEquals["aws:SourceArn"] == ["arn:aws:events:eu-west-1:123456789012:rule/qscan-test-a", "arn:aws:events:eu-west-1:123456789012:rule/qscan-test-b"]
    ])
    error_message = "Both queue policies must admit exactly source_rule_arns."
  }
  assert {
    condition     = jsondecode(aws_sqs_queue_policy.dlq.policy).Statement[0].Resource == aws_sqs_queue.dlq.arn && jsondecode(aws_sqs_queue_policy.this.policy).Statement[0].Resource == aws_sqs_queue.this.arn
    error_message = "Each policy speaks of its own queue."
  }
}

run "rejects_malformed_platform_statements" {
  command = plan
  variables {
    platform_policy_statements = { read = jsonencode([{ Effect = "Allow", Action = "test:Read", Resource = "*" }]) }
  }
  expect_failures = [var.platform_policy_statements]
}

run "rejects_unknown_platform_name" {
  command = plan
  variables {
    platform = "Lambda-2"
  }
  expect_failures = [var.platform]
}

run "layer_from_artifact_uses_given_name" {
  command = apply

  variables {
    qscanner_layer_arn      = null
    qscanner_layer_artifact = { s3_bucket = "artifacts-123456789012", s3_key = "qscan/qscanner-layer.zip" }
  }

  assert {
    condition     = aws_lambda_layer_version.qscanner[0].layer_name == "qscan-test-qscanner" && aws_lambda_function.this.layers == tolist(["arn:aws:lambda:eu-west-1:123456789012:layer:qscan-test-qscanner:1"])
    error_message = "The layer is published under qscanner_layer_name and attached."
  }
}

# Moved here from modules/ecr and modules/lambda (identical there): preconditions of the function and layer.
run "both_layer_sources_fail" {
  command = plan

  variables {
    qscanner_layer_artifact = { local_path = "dist/qscanner-layer.zip", source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" }
  }

  expect_failures = [aws_lambda_layer_version.qscanner]
}

run "no_layer_needs_qscanner_path" {
  command = plan

  variables {
    qscanner_layer_arn = null
  }

  expect_failures = [aws_lambda_function.this]
}

run "rejects_scan_timeout_without_margin" {
  command = plan
  variables {
    timeout              = 300
    scan_timeout_seconds = 290
  }
  expect_failures = [aws_lambda_function.this]
}

run "rejects_reserved_concurrency_below_maximum" {
  command = plan
  variables {
    reserved_concurrent_executions = 2
    maximum_concurrency            = 5
  }
  expect_failures = [aws_lambda_function.this]
}

run "rejects_external_id_without_role" {
  command = plan
  variables {
    spoke_external_id = "o-abc123-qscan"
  }
  expect_failures = [aws_lambda_function.this]
}

run "rejects_too_many_layers" {
  command = plan
  variables {
    additional_layer_arns = [for n in range(5) : "arn:aws:lambda:eu-west-1:123456789012:layer:extra:${n + 1}"]
  }
  expect_failures = [aws_lambda_function.this]
}

# ------------------------------------------------------------------ retry semantics (qscan.aws.sqs_retry)
run "retry_settings_reach_the_handler_and_the_horizon_is_derived" {
  command = plan

  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["QSCAN_MAX_RECEIVE_COUNT"] == "3" &&
      aws_lambda_function.this.environment[0].variables["QSCAN_RETRY_BACKOFF_BASE_SECONDS"] == "60" &&
      aws_lambda_function.this.environment[0].variables["QSCAN_RETRY_BACKOFF_MAX_SECONDS"] == "900" &&
      aws_lambda_function.this.environment[0].variables["QSCAN_DEAD_LETTER_QUEUE_ARN"] == "arn:aws:sqs:eu-west-1:123456789012:qscan-test-scan-dlq"
    )
    error_message = "The handler must know the attempts, the backoff and its dead-letter queue."
  }
  assert {
    # 3 attempts of up to 900 s each, then 60 + 120 + 240 s of backoff: below the 3600 s queue-age alarm.
    condition     = output.retry.retry_horizon_seconds == 3120 && output.retry.dead_letter_queue_arn == "arn:aws:sqs:eu-west-1:123456789012:qscan-test-scan-dlq"
    error_message = "The retry horizon is max_receive_count x timeout + the backoffs."
  }
}

run "the_role_may_requeue_and_dead_letter_and_the_queue_policies_say_so" {
  command = apply

  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if s.Sid == "RequeueAndDeadLetter"]) == {
      Sid = "RequeueAndDeadLetter", Effect = "Allow", Action = "sqs:SendMessage", Resource = [aws_sqs_queue.this.arn, aws_sqs_queue.dlq.arn]
    }
    error_message = "The scanner may send only to its own queue (deferred copies) and its DLQ (dead letters)."
  }
  assert {
    condition = (
      jsondecode(aws_sqs_queue_policy.dlq.policy).Statement[2] == { Sid = "ScannerDeadLetters", Effect = "Allow", Principal = { AWS = aws_iam_role.this.arn }, Action = "sqs:SendMessage", Resource = aws_sqs_queue.dlq.arn } &&
      jsondecode(aws_sqs_queue_policy.this.policy).Statement[2].Principal.AWS == aws_iam_role.this.arn
    )
    error_message = "The DLQ policy admits the scanner's role besides the rules."
  }
}

run "accepts_a_retention_of_exactly_the_horizon_plus_the_lease" {
  command = plan
  variables {
    queue_message_retention_seconds = 3960 # 3120 horizon + 720 scan timeout + 120 lease margin
  }
  assert {
    condition     = aws_sqs_queue.this.message_retention_seconds == 3960
    error_message = "The retention is passed as given."
  }
}

run "rejects_a_retention_shorter_than_the_retry_horizon" {
  command = plan
  variables {
    queue_message_retention_seconds = 3959
  }
  expect_failures = [aws_sqs_queue.this]
}

run "rejects_a_queue_age_alarm_below_the_retry_horizon" {
  command = plan
  variables {
    max_receive_count = 5 # 5 x 900 + 60 + 120 + 240 + 480 + 900 = 6300 s > 3600 s
  }
  expect_failures = [aws_cloudwatch_metric_alarm.queue_age]
}

run "a_lower_alarm_must_still_clear_a_shorter_horizon" {
  command = plan
  variables {
    timeout                 = 300
    scan_timeout_seconds    = 240
    max_receive_count       = 5
    retry_backoff           = { base_seconds = 30, max_seconds = 120 }
    queue_age_alarm_seconds = 1800 # horizon: 1500 + 30 + 60 + 120 + 120 + 120 = 1950 s
  }
  expect_failures = [aws_cloudwatch_metric_alarm.queue_age]
}

run "rejects_a_backoff_whose_cap_is_below_its_base" {
  command = plan
  variables {
    retry_backoff = { base_seconds = 600, max_seconds = 60 }
  }
  expect_failures = [var.retry_backoff]
}

run "accepts_none_severity" {
  command = plan
  variables {
    severity_threshold = "NONE"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["QSCAN_SEVERITY_THRESHOLD"] == "NONE"
    error_message = "NONE is a core threshold (findings never alert)."
  }
}

run "severity_is_passed_upper_case" {
  command = plan
  variables {
    severity_threshold = "critical"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["QSCAN_SEVERITY_THRESHOLD"] == "CRITICAL"
    error_message = "The handler gets the core's spelling of the threshold."
  }
}

run "derived_scan_timeout_leaves_margin_for_short_timeouts" {
  command = plan
  variables {
    timeout = 60
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["QSCAN_SCAN_TIMEOUT_SECONDS"] == "30"
    error_message = "A 60 s function must give qscanner 30 s and keep 30 s for persist and notify."
  }
}

run "accepts_s3_artifact" {
  command = plan
  variables {
    handler_artifact = { s3_bucket = "artifacts-123456789012", s3_key = "qscan/test-handler.zip", s3_object_version = "3" }
  }
  assert {
    condition     = aws_lambda_function.this.s3_key == "qscan/test-handler.zip" && aws_lambda_function.this.filename == null
    error_message = "S3 artifacts are deployed from S3."
  }
}

run "cache_cap_reaches_the_handler" {
  command = plan
  variables {
    scanner_cache_max_mb = 1024
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["QSCAN_SCANNER_CACHE_MAX_MB"] == "1024"
    error_message = "The handler caps qscanner's cache at scanner_cache_max_mb."
  }
}

run "rejects_a_cache_cap_above_a_quarter_of_tmp" {
  command = plan
  variables {
    ephemeral_storage_size = 512
  }
  expect_failures = [aws_lambda_function.this]
}
