# The AWS reconciler module on a mocked provider: the function's settings, the least-privilege policy, the
# schedule (flexible window off, its own role), the never-scanned alarm and the validations.
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
    local_path       = "dist/aws-reconciler.zip"
    source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  }
  destinations = {
    ecr_queue         = { url = "https://sqs.eu-west-1.amazonaws.com/123456789012/qscan-ecr-scan", arn = "arn:aws:sqs:eu-west-1:123456789012:qscan-ecr-scan" }
    lambda_queue      = { url = "https://sqs.eu-west-1.amazonaws.com/123456789012/qscan-lambda-scan", arn = "arn:aws:sqs:eu-west-1:123456789012:qscan-lambda-scan" }
    state_machine_arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:qscan-fargate-scan"
  }
  self_function_names = ["qscan-ecr-scanner", "qscan-lambda-scanner"]
}

run "defaults" {
  command = apply

  assert {
    condition = (
      aws_lambda_function.this.function_name == "qscan-reconciler" &&
      aws_lambda_function.this.reserved_concurrent_executions == 1 &&
      aws_lambda_function.this.environment[0].variables.QSCAN_RECONCILE_SERVICES == "ecr,ecs,lambda" &&
      aws_lambda_function.this.environment[0].variables.QSCAN_RECONCILE_REGIONS == "eu-west-1" &&
      aws_lambda_function.this.environment[0].variables.QSCAN_RECONCILE_ECR_QUEUE_URL == "https://sqs.eu-west-1.amazonaws.com/123456789012/qscan-ecr-scan" &&
      aws_lambda_function.this.environment[0].variables.QSCAN_RECONCILE_STATE_MACHINE_ARN == "arn:aws:states:eu-west-1:123456789012:stateMachine:qscan-fargate-scan" &&
      aws_lambda_function.this.environment[0].variables.QSCAN_SELF_FUNCTION_NAMES == "qscan-reconciler,qscan-ecr-scanner,qscan-lambda-scanner" &&
      aws_lambda_function.this.environment[0].variables.QSCAN_DEDUPE_TABLE == "qscan-dedupe" &&
      aws_lambda_function.this.environment[0].variables.QSCAN_SERVICE_NAME == "qscan-reconciler" &&
      !contains(keys(aws_lambda_function.this.environment[0].variables), "QSCAN_RECONCILE_ACCOUNTS")
    )
    error_message = "The function gets the core settings, the listed services, their destinations and qscan's own functions."
  }
  assert {
    condition = (
      aws_scheduler_schedule.this.schedule_expression == "rate(1 hour)" &&
      aws_scheduler_schedule.this.flexible_time_window[0].mode == "OFF" &&
      aws_scheduler_schedule.this.target[0].arn == aws_lambda_function.this.arn &&
      aws_scheduler_schedule.this.target[0].role_arn == aws_iam_role.scheduler.arn &&
      jsondecode(aws_iam_role_policy.scheduler.policy).Statement[0].Action == ["lambda:InvokeFunction"] &&
      jsondecode(aws_iam_role_policy.scheduler.policy).Statement[0].Resource == aws_lambda_function.this.arn
    )
    error_message = "An hourly schedule without flexible window invokes the function through a role that may only invoke it."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.never_scanned[0].metric_name == "NeverScanned" &&
      aws_cloudwatch_metric_alarm.never_scanned[0].statistic == "Minimum" &&
      aws_cloudwatch_metric_alarm.never_scanned[0].period == 86400 &&
      aws_cloudwatch_metric_alarm.never_scanned[0].threshold == 0 &&
      aws_cloudwatch_metric_alarm.never_scanned[0].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.never_scanned[0].dimensions.service == "qscan-reconciler" &&
      aws_cloudwatch_metric_alarm.never_scanned[0].alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:qscan-alerts"])
    )
    error_message = "The never-scanned alarm fires when the count stayed above zero for a day, to the alerts topic."
  }
  assert {
    condition = (
      { for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Sid => s.Resource }["SendScanRequests"] == [
        "arn:aws:sqs:eu-west-1:123456789012:qscan-ecr-scan", "arn:aws:sqs:eu-west-1:123456789012:qscan-lambda-scan"
      ] &&
      { for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Sid => s.Resource }["StartFargateScans"] == "arn:aws:states:eu-west-1:123456789012:stateMachine:qscan-fargate-scan" &&
      { for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Sid => s.Resource }["InventorySnapshots"] == "arn:aws:s3:::qscan-results-123456789012-eu-west-1/inventory/aws/*" &&
      { for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Sid => s.Action }["DedupeLookupsAndMarkers"] == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"] &&
      !contains(keys({ for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Sid => s }), "AssumeSpokeReadRole") &&
      alltrue([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : !contains(flatten([s.Action]), "*")])
    )
    error_message = "Least privilege: send to the named queues, start the named workflow, inventory objects only, the dedupe item actions."
  }
}

run "ecr_only_other_accounts" {
  command = plan

  variables {
    services            = ["ecr"]
    destinations        = { ecr_queue = { url = "https://sqs.eu-west-1.amazonaws.com/123456789012/qscan-ecr-scan", arn = "arn:aws:sqs:eu-west-1:123456789012:qscan-ecr-scan" } }
    accounts            = ["210987654321"]
    spoke_role_name     = "qscan-spoke-read"
    spoke_external_id   = "qscan-external-id"
    regions             = ["eu-west-1", "us-east-1"]
    never_scanned_alarm = false
  }

  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables.QSCAN_RECONCILE_ACCOUNTS == "210987654321" &&
      aws_lambda_function.this.environment[0].variables.QSCAN_RECONCILE_REGIONS == "eu-west-1,us-east-1" &&
      !contains(keys(aws_lambda_function.this.environment[0].variables), "QSCAN_RECONCILE_LAMBDA_QUEUE_URL") &&
      { for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Sid => s.Resource }["AssumeSpokeReadRole"] == ["arn:aws:iam::210987654321:role/qscan-spoke-read"] &&
      !contains(keys({ for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Sid => s }), "StartFargateScans") &&
      length(aws_cloudwatch_metric_alarm.never_scanned) == 0
    )
    error_message = "Only ECR: one queue, no workflow grant; other accounts through the spoke role."
  }
}

run "a_listed_service_needs_its_destination" {
  command = plan

  variables {
    services     = ["ecr", "lambda"]
    destinations = { ecr_queue = { url = "https://sqs.eu-west-1.amazonaws.com/123456789012/qscan-ecr-scan", arn = "arn:aws:sqs:eu-west-1:123456789012:qscan-ecr-scan" } }
  }

  expect_failures = [aws_lambda_function.this]
}

run "other_accounts_need_the_spoke_role" {
  command = plan

  variables {
    accounts = ["210987654321"]
  }

  expect_failures = [aws_lambda_function.this]
}

run "max_seconds_must_fit_the_timeout" {
  command = plan

  variables {
    limits  = { max_seconds = 600 }
    timeout = 600
  }

  expect_failures = [aws_lambda_function.this]
}

run "invalid_inputs" {
  command = plan

  variables {
    services            = ["ecr", "gke"]
    regions             = ["Europe"]
    accounts            = ["1234"]
    schedule_expression = "every hour"
    limits              = { max_pages = 0 }
  }

  expect_failures = [var.services, var.regions, var.accounts, var.schedule_expression, var.limits]
}
