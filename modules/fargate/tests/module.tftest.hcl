# The Fargate module on a mocked provider: rules and patterns, the state machine (definition, logging,
# tracing, timeout), the EventBridge target (role, DLQ, retry policy), the task function and the validations.
# tests/unit/test_fargate_workflow.py checks the ASL itself; tests/integration/test_fargate_patterns.py matches
# the patterns against sample events.
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
    local_path       = "dist/aws-fargate.zip"
    source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  }
  qscanner_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:qscanner:7"
  existing_trail_arn = "arn:aws:cloudtrail:eu-west-1:123456789012:trail/qscan-trail-eu-west-1"
}

run "defaults" {
  command = apply

  assert {
    condition = (
      jsondecode(aws_cloudwatch_event_rule.this["task_definition"].event_pattern).detail == {
        eventSource = ["ecs.amazonaws.com"], eventName = ["RegisterTaskDefinition"], errorCode = [{ exists = false }]
      } &&
      jsondecode(aws_cloudwatch_event_rule.this["deployment"].event_pattern).detail == {
        eventSource = ["ecs.amazonaws.com"], eventName = ["RunTask", "CreateService", "UpdateService"], errorCode = [{ exists = false }]
      } &&
      jsondecode(aws_cloudwatch_event_rule.this["deployment"].event_pattern).source == ["aws.ecs"]
    )
    error_message = "Without filters the rules match the four successful ECS calls."
  }
  assert {
    condition = (
      aws_sfn_state_machine.this.type == "STANDARD" && aws_sfn_state_machine.this.name == "qscan-fargate-scan" &&
      jsondecode(aws_sfn_state_machine.this.definition).TimeoutSeconds == 7200 &&
      jsondecode(aws_sfn_state_machine.this.definition).States.ScanImages.MaxConcurrency == 4 &&
      jsondecode(aws_sfn_state_machine.this.definition).States.ScanImages.ItemSelector.backend == "qscanner"
    )
    error_message = "A Standard state machine with the rendered definition (timeout, bounded Map, backend)."
  }
  assert {
    condition = (
      one(aws_sfn_state_machine.this.logging_configuration).level == "ERROR" &&
      !one(aws_sfn_state_machine.this.logging_configuration).include_execution_data &&
      !one(aws_sfn_state_machine.this.tracing_configuration).enabled &&
      one(aws_lambda_function.tasks.tracing_config).mode == "PassThrough"
    )
    error_message = "Errors-only logging and no X-Ray by default."
  }
  assert {
    condition = alltrue([for key, target in aws_cloudwatch_event_target.this :
      target.role_arn == aws_iam_role.events.arn && one(target.dead_letter_config).arn == aws_sqs_queue.dlq.arn &&
      one(target.retry_policy).maximum_retry_attempts == 185 && one(target.retry_policy).maximum_event_age_in_seconds == 86400
    ]) && length(aws_cloudwatch_event_target.this) == 2
    error_message = "Both rules start the state machine through the events role, with a retry policy and a DLQ."
  }
  assert {
    condition = (
      aws_lambda_function.tasks.timeout == 900 && aws_lambda_function.tasks.layers == tolist(["arn:aws:lambda:eu-west-1:123456789012:layer:qscanner:7"]) &&
      aws_lambda_function.tasks.environment[0].variables["QSCAN_SCANNER_BACKEND"] == "qscanner" &&
      aws_lambda_function.tasks.environment[0].variables["QSCANNER_PATH"] == "/opt/bin/qscanner" &&
      aws_lambda_function.tasks.environment[0].variables["QSCAN_SCAN_TIMEOUT_SECONDS"] == "870" &&
      aws_lambda_function.tasks.environment[0].variables["QSCAN_DEDUPE_TABLE"] == "qscan-dedupe"
    )
    error_message = "The task function carries the store settings, the backend and a scan timeout below its own."
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.events.policy).Statement[0].Action == "states:StartExecution" && jsondecode(aws_iam_role_policy.events.policy).Statement[0].Resource == aws_sfn_state_machine.this.arn
    error_message = "The events role may only start this state machine."
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.workflow.policy).Statement[0].Resource == [aws_lambda_function.tasks.arn, "${aws_lambda_function.tasks.arn}:*"]
    error_message = "The workflow role invokes only the task function."
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.executions) == 3 && alltrue([for a in aws_cloudwatch_metric_alarm.executions : a.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:qscan-alerts"])])
    error_message = "Failed, timed-out and aborted executions alarm to the alerts topic."
  }
}

run "filters_logging_xray_and_qualys_api" {
  command = apply

  variables {
    cluster_exclude    = ["sandbox-*"]
    family_include     = ["payments", "team-*"]
    scanner_backend    = "qualys-api"
    qscanner_layer_arn = null
    workflow_log_level = "ALL"
    enable_xray        = true
    max_polls          = 10
    max_concurrency    = 2
  }

  assert {
    condition = (
      jsondecode(aws_cloudwatch_event_rule.this["task_definition"].event_pattern).detail.requestParameters.family == ["payments", { prefix = "team-" }] &&
      jsondecode(aws_cloudwatch_event_rule.this["deployment"].event_pattern).detail.requestParameters.cluster == [
        { "anything-but" = { wildcard = ["sandbox-*", "arn:*:cluster/sandbox-*"] } }, { exists = false },
      ]
    )
    error_message = "Family include by exact name and prefix; cluster exclude by name and ARN, calls without a cluster (default) kept."
  }
  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.this.definition).States.ScanImages.ItemSelector.backend == "qualys-api" &&
      jsondecode(aws_sfn_state_machine.this.definition).States.ScanImages.MaxConcurrency == 2 &&
      jsondecode(aws_sfn_state_machine.this.definition).States.ScanImages.ItemProcessor.States.ScanDone.Choices[1].NumericGreaterThanEquals == 10
    )
    error_message = "Backend, concurrency and max_polls reach the definition."
  }
  assert {
    condition = (
      one(aws_sfn_state_machine.this.logging_configuration).level == "ALL" && one(aws_sfn_state_machine.this.logging_configuration).include_execution_data &&
      one(aws_sfn_state_machine.this.tracing_configuration).enabled && one(aws_lambda_function.tasks.tracing_config).mode == "Active"
    )
    error_message = "ALL logging with execution data and X-Ray on both."
  }
  assert {
    condition     = !contains(keys(aws_lambda_function.tasks.environment[0].variables), "QSCANNER_PATH") && length(aws_lambda_function.tasks.layers) == 0
    error_message = "The registry sensor runs no qscanner: no layer, no QSCANNER_PATH."
  }
}

run "default_cluster_included_explicitly" {
  command = plan

  variables {
    cluster_include = ["default", "prod"]
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.this["deployment"].event_pattern).detail.requestParameters.cluster == [
      "default", "prod", { wildcard = "arn:*:cluster/default" }, { wildcard = "arn:*:cluster/prod" }, { exists = false },
    ]
    error_message = "Including default also matches calls that name no cluster."
  }
}

run "rejects_bad_inputs" {
  command = plan

  variables {
    scanner_backend    = "docker"
    max_concurrency    = 0
    workflow_log_level = "FATAL"
    cluster_include    = ["arn:aws:ecs:eu-west-1:123456789012:cluster/prod"]
    existing_trail_arn = "not-an-arn"
  }

  expect_failures = [var.scanner_backend, var.max_concurrency, var.workflow_log_level, var.cluster_include, var.existing_trail_arn]
}

run "include_and_exclude_together_and_no_trail_fail" {
  command = plan

  variables {
    cluster_include    = ["prod"]
    cluster_exclude    = ["sandbox"]
    existing_trail_arn = null
  }

  expect_failures = [aws_cloudwatch_event_rule.this]
}

run "qscanner_without_layer_fails" {
  command = plan

  variables {
    qscanner_layer_arn = null
  }

  expect_failures = [aws_lambda_function.tasks]
}

run "qscanner_path_instead_of_a_layer" {
  command = plan

  variables {
    qscanner_layer_arn = null
    qscanner_path      = "/var/task/bin/qscanner"
  }

  assert {
    condition     = aws_lambda_function.tasks.environment[0].variables["QSCANNER_PATH"] == "/var/task/bin/qscanner" && length(aws_lambda_function.tasks.layers) == 0
    error_message = "Without a layer the task function runs qscanner from qscanner_path."
  }
}

run "rejects_relative_qscanner_path" {
  command = plan

  variables {
    qscanner_path = "bin/qscanner"
  }

  expect_failures = [var.qscanner_path]
}

run "execution_shorter_than_the_polls_fails" {
  command = plan

  variables {
    scanner_backend           = "qualys-api"
    execution_timeout_seconds = 900
    max_polls                 = 60
    poll_interval_seconds     = 30
  }

  expect_failures = [aws_sfn_state_machine.this]
}

run "polling_longer_than_the_claim_lease_fails" {
  command = plan

  variables {
    scanner_backend           = "qualys-api"
    execution_timeout_seconds = 7200
    max_polls                 = 120
    poll_interval_seconds     = 30
  }

  expect_failures = [aws_sfn_state_machine.this]
}

run "spoke_role_without_and_with_organization_id" {
  command = plan

  variables {
    spoke_role_name   = "qscan-spoke-read"
    spoke_external_id = "qscan-hub"
  }

  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.tasks.policy).Statement : s if s.Sid == "AssumeSpokeReadRole"]) == {
      Sid      = "AssumeSpokeReadRole"
      Effect   = "Allow"
      Action   = "sts:AssumeRole"
      Resource = "arn:aws:iam::*:role/qscan-spoke-read"
    }
    error_message = "Without organization_id the task role may assume the spoke role of any account, with no condition."
  }
}

run "organization_id_limits_the_spoke_role_to_the_organization" {
  command = plan

  variables {
    spoke_role_name   = "qscan-spoke-read"
    spoke_external_id = "qscan-hub"
    organization_id   = "o-a1b2c3d4e5"
  }

  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.tasks.policy).Statement : s if s.Sid == "AssumeSpokeReadRole"]).Condition == {
      StringEquals = { "aws:ResourceOrgID" = "o-a1b2c3d4e5" }
    }
    error_message = "sts:AssumeRole must be limited to spoke roles of the organization (aws:ResourceOrgID)."
  }
}

run "rejects_a_bad_organization_id" {
  command = plan

  variables {
    organization_id = "a1b2c3d4e5"
  }

  expect_failures = [var.organization_id]
}

run "dashboard_reads_the_task_function_metrics_and_the_workflow_health" {
  command = apply

  variables {
    metrics_namespace = "secops/qscan"
  }

  assert {
    condition = (
      output.dashboard_name == "qscan-fargate-eu-west-1" &&
      [for widget in jsondecode(module.dashboard.dashboard.dashboard_body).widgets : widget.properties.title] == [
        "Scans", "Findings by severity", "Workflow executions", "Task function", "Undelivered ECS events (DLQ depth)",
        "Scans per account", "Failures per account",
      ]
    )
    error_message = "The shared dashboard (modules/aws-dashboard), named with the region, with the workflow's health row."
  }
  assert {
    condition = (
      jsondecode(module.dashboard.dashboard.dashboard_body).widgets[0].properties.metrics[0] == ["secops/qscan", "ScansStarted", "service", "qscan-fargate"] &&
      aws_lambda_function.tasks.environment[0].variables.QSCAN_SERVICE_NAME == "qscan-fargate" &&
      aws_lambda_function.tasks.environment[0].variables.QSCAN_METRICS_NAMESPACE == "secops/qscan"
    )
    error_message = "The dashboard reads the namespace and service the task function writes."
  }
  assert {
    condition = (
      jsondecode(module.dashboard.dashboard.dashboard_body).widgets[2].properties.metrics[0] == ["AWS/States", "ExecutionsStarted", "StateMachineArn", aws_sfn_state_machine.this.arn] &&
      jsondecode(module.dashboard.dashboard.dashboard_body).widgets[3].properties.metrics[1] == ["AWS/Lambda", "Errors", "FunctionName", "qscan-fargate-tasks"] &&
      jsondecode(module.dashboard.dashboard.dashboard_body).widgets[4].properties.metrics[0] == ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.dlq.name]
    )
    error_message = "The health row reads the state machine, the task function and the events DLQ."
  }
}

run "no_dashboard" {
  command = plan

  variables {
    create_dashboard = false
  }

  assert {
    condition     = module.dashboard.dashboard == null && output.dashboard_name == null
    error_message = "create_dashboard = false creates no dashboard."
  }
}
