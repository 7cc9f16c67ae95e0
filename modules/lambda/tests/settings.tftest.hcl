# Names, queue, function, environment, IAM, alarms and dashboard (mocked provider: plan, or apply without AWS).
mock_provider "aws" {
  source = "./tests/mocks"
}

# The two queues need distinct, valid ARNs (EventBridge target validators check them on apply).
override_resource {
  target = module.worker.aws_sqs_queue.this
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:qscan-lambda-scan"
    id  = "https://sqs.eu-west-1.amazonaws.com/123456789012/qscan-lambda-scan"
  }
}

override_resource {
  target = module.worker.aws_sqs_queue.dlq
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:qscan-lambda-scan-dlq"
    id  = "https://sqs.eu-west-1.amazonaws.com/123456789012/qscan-lambda-scan-dlq"
  }
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

run "names_carry_region_where_global" {
  command = plan

  assert {
    condition     = module.worker.role.name == "qscan-lambda-scanner-eu-west-1"
    error_message = "The IAM role name must carry the region."
  }
  assert {
    condition     = module.worker.role_policy.name == "qscan-lambda-scanner-eu-west-1-least-privilege"
    error_message = "The role policy name must carry the region."
  }
  assert {
    condition     = module.worker.dashboard.dashboard_name == "qscan-lambda-eu-west-1"
    error_message = "Dashboards are global: the name must carry the region."
  }
  assert {
    condition     = module.worker.function.function_name == "qscan-lambda-scanner" && module.worker.queue.name == "qscan-lambda-scan" && module.worker.dlq.name == "qscan-lambda-scan-dlq"
    error_message = "Regional names follow name_prefix."
  }
}

run "second_region_does_not_collide" {
  command = plan

  override_data {
    target = data.aws_region.current
    values = { name = "us-west-2" }
  }

  override_data {
    target = module.worker.data.aws_region.current
    values = { name = "us-west-2" }
  }

  assert {
    condition     = module.worker.role.name == "qscan-lambda-scanner-us-west-2" && module.worker.role_policy.name == "qscan-lambda-scanner-us-west-2-least-privilege" && module.worker.dashboard.dashboard_name == "qscan-lambda-us-west-2"
    error_message = "A second region must get its own global names."
  }
}

run "queue_settings" {
  command = apply

  assert {
    condition     = module.worker.queue.visibility_timeout_seconds == 5400
    error_message = "Visibility timeout must be 6x the 900 s function timeout."
  }
  assert {
    condition     = jsondecode(module.worker.queue.redrive_policy).maxReceiveCount == 3 && jsondecode(module.worker.queue.redrive_policy).deadLetterTargetArn == module.worker.dlq.arn
    error_message = "The scan queue must redrive to the DLQ after 3 receives."
  }
  assert {
    condition     = module.worker.queue.kms_master_key_id == var.core.kms_key_arn && module.worker.dlq.kms_master_key_id == var.core.kms_key_arn
    error_message = "Both queues must be encrypted with the store key."
  }
  assert {
    condition     = jsondecode(module.worker.queue_policy.policy).Statement[0].Condition.ArnEquals["aws:SourceArn"] == [aws_cloudwatch_event_rule.deploy.arn] && output.event_rule_arns == [aws_cloudwatch_event_rule.deploy.arn]
    error_message = "The queue policy must admit exactly the deployment rule."
  }
  assert {
    condition     = jsondecode(module.worker.queue_policy.policy).Statement[1].Effect == "Deny" && jsondecode(module.worker.dlq_policy.policy).Statement[1].Condition.Bool["aws:SecureTransport"] == "false"
    error_message = "Both queues deny insecure transport."
  }
  assert {
    condition     = aws_cloudwatch_event_target.deploy.arn == module.worker.queue.arn && one(aws_cloudwatch_event_target.deploy.dead_letter_config).arn == module.worker.dlq.arn
    error_message = "The deployment rule targets the scan queue and dead-letters to the DLQ."
  }
}

run "queue_policy_admits_bulk_scan_rule" {
  command = apply

  variables {
    bulk_scan_schedule_expression = "cron(0 3 * * ? *)"
  }

  override_resource {
    target = aws_cloudwatch_event_rule.bulk_scan
    values = { arn = "arn:aws:events:eu-west-1:123456789012:rule/qscan-lambda-bulk-scan" }
  }

  assert {
    condition = jsondecode(module.worker.queue_policy.policy).Statement[0].Condition.ArnEquals["aws:SourceArn"] == [
      "arn:aws:events:eu-west-1:123456789012:rule/qscan-lambda-deploy",
      "arn:aws:events:eu-west-1:123456789012:rule/qscan-lambda-bulk-scan",
    ]
    error_message = "The schedule rule may send to the queue too."
  }
  assert {
    condition     = aws_cloudwatch_event_target.bulk_scan[0].arn == module.worker.queue.arn && one(aws_cloudwatch_event_target.bulk_scan[0].dead_letter_config).arn == module.worker.dlq.arn
    error_message = "Bulk-scan requests go to the scan queue, undeliverable ones to the DLQ."
  }
}

run "function_settings" {
  command = plan

  assert {
    condition = (
      module.worker.function.runtime == "python3.12" &&
      module.worker.function.handler == "handler.lambda_handler" &&
      module.worker.function.memory_size == 3008 &&
      module.worker.function.timeout == 900 &&
      module.worker.function.ephemeral_storage[0].size == 10240 &&
      module.worker.function.architectures == tolist(["x86_64"])
    )
    error_message = "Unexpected function defaults."
  }
  assert {
    condition     = module.worker.function.tracing_config[0].mode == "Active" && module.worker.function.kms_key_arn == var.core.kms_key_arn
    error_message = "Tracing on, environment encrypted with the store key."
  }
  assert {
    condition     = module.worker.function.filename == "dist/lambda-handler.zip" && module.worker.function.source_code_hash == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    error_message = "The handler artifact arrives through the variable."
  }
  assert {
    condition     = module.worker.function.layers == tolist(["arn:aws:lambda:eu-west-1:123456789012:layer:qscanner:7"])
    error_message = "An existing qscanner layer is attached."
  }
  assert {
    condition     = module.worker.log_group.name == "/aws/lambda/qscan-lambda-scanner" && module.worker.log_group.retention_in_days == 365 && module.worker.log_group.kms_key_id == var.core.kms_key_arn
    error_message = "The explicit log group must use the core retention and key."
  }
}

run "function_environment" {
  command = plan

  assert {
    condition = module.worker.function.environment[0].variables == tomap({
      QSCAN_DEDUPE_TABLE               = "qscan-dedupe"
      QSCAN_RESULTS_BUCKET             = "qscan-results-123456789012-eu-west-1"
      QSCAN_RESULTS_KMS_KEY_ID         = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
      QSCAN_ALERT_TOPIC_ARN            = "arn:aws:sns:eu-west-1:123456789012:qscan-alerts"
      QSCAN_QUALYS_SECRET_ARN          = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:qscan/qualys-access-token-AbCdEf"
      QSCAN_SEVERITY_THRESHOLD         = "HIGH"
      QSCAN_SCAN_TYPES                 = "os,sca,secret"
      QSCAN_SBOM_FORMAT                = "off"
      QSCAN_SCAN_TIMEOUT_SECONDS       = "720"
      QSCAN_SCANNER_CACHE_MAX_MB       = "2048"
      QSCANNER_PATH                    = "/opt/bin/qscanner"
      QSCAN_SERVICE_NAME               = "qscan-lambda"
      QSCAN_METRICS_NAMESPACE          = "qscan"
      QSCAN_LOG_LEVEL                  = "INFO"
      QSCAN_MAX_RECEIVE_COUNT          = "3"
      QSCAN_RETRY_BACKOFF_BASE_SECONDS = "60"
      QSCAN_RETRY_BACKOFF_MAX_SECONDS  = "900"
      QSCAN_DEAD_LETTER_QUEUE_ARN      = "arn:aws:sqs:eu-west-1:123456789012:qscan-lambda-scan-dlq"
      QSCAN_SELF_FUNCTION_NAMES        = "qscan-lambda-scanner"
      QSCAN_TAG_FUNCTIONS              = "false"
    })
    error_message = "Unexpected function environment."
  }
}

run "function_environment_overrides" {
  command = plan

  variables {
    severity_threshold    = "critical"
    scan_types            = ["sca", "secret"]
    enable_tagging        = true
    spoke_role_name       = "qscan-spoke-read-eu-west-1"
    spoke_external_id     = "o-abc123-qscan"
    log_level             = "DEBUG"
    environment_variables = { EXTRA = "1", QSCAN_LOG_LEVEL = "ERROR", QSCAN_SELF_FUNCTION_NAMES = "nothing" }
  }

  assert {
    condition = (
      module.worker.function.environment[0].variables["QSCAN_SEVERITY_THRESHOLD"] == "CRITICAL" &&
      module.worker.function.environment[0].variables["QSCAN_SCAN_TYPES"] == "sca,secret" &&
      module.worker.function.environment[0].variables["QSCAN_TAG_FUNCTIONS"] == "true" &&
      module.worker.function.environment[0].variables["QSCAN_SPOKE_ROLE_NAME"] == "qscan-spoke-read-eu-west-1" &&
      module.worker.function.environment[0].variables["QSCAN_SPOKE_EXTERNAL_ID"] == "o-abc123-qscan"
    )
    error_message = "Module settings must reach the handler (threshold upper-cased)."
  }
  assert {
    condition = (
      module.worker.function.environment[0].variables["EXTRA"] == "1" &&
      module.worker.function.environment[0].variables["QSCAN_LOG_LEVEL"] == "DEBUG" &&
      module.worker.function.environment[0].variables["QSCAN_SELF_FUNCTION_NAMES"] == "qscan-lambda-scanner"
    )
    error_message = "Extra variables are added, but the module's own settings win."
  }
}

run "event_source_mapping" {
  command = plan

  assert {
    condition     = module.worker.event_source_mapping.batch_size == 1 && module.worker.event_source_mapping.function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "One event per invocation, partial batch failures reported."
  }
  assert {
    condition     = module.worker.event_source_mapping.scaling_config[0].maximum_concurrency == 5
    error_message = "Concurrency is bounded at 5 by default."
  }
}

run "event_source_mapping_can_be_left_out" {
  command = plan

  variables {
    create_event_source_mapping = false
  }

  assert {
    condition     = module.worker.event_source_mapping == null && output.event_source_mapping_uuid == null
    error_message = "Without the mapping nothing consumes the queue from Lambda."
  }
}

run "iam_least_privilege" {
  command = apply

  assert {
    condition = [for s in jsondecode(module.worker.role_policy.policy).Statement : s.Sid] == [
      "OwnLogGroup", "XRayTracing", "ConsumeScanQueue", "ReadDeployedFunctions", "ReadFunctionLayers",
      "ReadFunctionImages", "EcrRegistryLogin", "DedupeClaims", "WriteResults", "PublishAlerts", "ReadQualysToken",
      "UseStoreKeysThroughServices", "RequeueAndDeadLetter",
    ]
    error_message = "Unexpected statements (no tagging, bulk-scan, sts:AssumeRole or ENI rights unless configured)."
  }
  assert {
    condition = (
      jsondecode(module.worker.role_policy.policy).Statement[3].Action == ["lambda:GetFunction", "lambda:GetFunctionConfiguration"] &&
      jsondecode(module.worker.role_policy.policy).Statement[3].Resource == "arn:aws:lambda:eu-west-1:123456789012:function:*"
    )
    error_message = "Function reads are limited to this account and region."
  }
  assert {
    condition     = jsondecode(module.worker.role_policy.policy).Statement[4].Action == "lambda:GetLayerVersion" && jsondecode(module.worker.role_policy.policy).Statement[4].Resource == "arn:aws:lambda:eu-west-1:*:layer:*:*"
    error_message = "Layer reads are limited to this region."
  }
  assert {
    condition     = jsondecode(module.worker.role_policy.policy).Statement[5].Resource == "arn:aws:ecr:eu-west-1:*:repository/*" && !contains(jsondecode(module.worker.role_policy.policy).Statement[5].Action, "ecr:PutImage")
    error_message = "ECR read (image functions) covers any account's repository in this region (images of a shared build account), read actions only."
  }
  assert {
    condition     = !contains(keys(jsondecode(module.worker.role_policy.policy).Statement[5]), "Condition") && jsondecode(module.worker.role_policy.policy).Statement[6].Action == "ecr:GetAuthorizationToken" && jsondecode(module.worker.role_policy.policy).Statement[6].Resource == "*"
    error_message = "Without organization_id there is no organization condition; the registry login is on * (no resource-level permissions)."
  }
  assert {
    condition     = jsondecode(module.worker.role_policy.policy).Statement[8].Resource == "arn:aws:s3:::qscan-results-123456789012-eu-west-1/results/lambda/*"
    error_message = "Results may be written only below results/lambda/."
  }
  assert {
    condition     = jsondecode(module.worker.role_policy.policy).Statement[0].Resource == "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/qscan-lambda-scanner:*"
    error_message = "Logging is limited to the function's own log group."
  }
  assert {
    condition     = contains(jsondecode(module.worker.role_policy.policy).Statement[11].Condition.StringEquals["kms:ViaService"], "sqs.eu-west-1.amazonaws.com")
    error_message = "KMS use must go through the store services."
  }
  assert {
    condition     = !anytrue([for s in jsondecode(module.worker.role_policy.policy).Statement : anytrue([for a in flatten([s.Action]) : contains(["lambda:TagResource", "lambda:ListFunctions", "lambda:UpdateFunctionConfiguration", "lambda:UpdateFunctionCode"], a)])])
    error_message = "No tagging, listing or function updates by default."
  }
  assert {
    # The only send by default is the worker's retry statement: deferred copies to the scan queue, dead letters
    # to the DLQ (qscan.aws.sqs_retry); bulk-scan fan-out adds its own statement only with a schedule.
    condition     = [for s in jsondecode(module.worker.role_policy.policy).Statement : s.Sid if contains(flatten([s.Action]), "sqs:SendMessage")] == ["RequeueAndDeadLetter"]
    error_message = "No sending by default beyond the worker's own queue and DLQ."
  }
  assert {
    condition     = alltrue([for s in jsondecode(module.worker.role_policy.policy).Statement : !contains(flatten([s.Action]), "*") && !anytrue([for a in flatten([s.Action]) : endswith(a, ":*")])])
    error_message = "No wildcard actions."
  }
  assert {
    condition     = jsondecode(module.worker.role.assume_role_policy).Statement[0].Principal.Service == "lambda.amazonaws.com"
    error_message = "Only Lambda may assume the role."
  }
}

run "tagging_permission_only_for_scan_tag_keys" {
  command = apply

  variables {
    enable_tagging = true
  }

  assert {
    condition     = [for s in jsondecode(module.worker.role_policy.policy).Statement : s.Sid if s.Sid == "TagScannedFunctions"] == ["TagScannedFunctions"]
    error_message = "Tagging brings exactly one TagResource statement."
  }
  assert {
    condition = one([for s in jsondecode(module.worker.role_policy.policy).Statement : s if s.Sid == "TagScannedFunctions"]) == {
      Sid      = "TagScannedFunctions"
      Effect   = "Allow"
      Action   = "lambda:TagResource"
      Resource = "arn:aws:lambda:eu-west-1:123456789012:function:*"
      Condition = {
        "ForAllValues:StringEquals" = { "aws:TagKeys" = ["QualysScanStatus", "QualysScanTime", "QualysCritical", "QualysHigh"] }
        Null                        = { "aws:TagKeys" = "false" }
      }
    }
    error_message = "TagResource must be limited to this account's functions and the Qualys tag keys."
  }
  assert {
    condition     = output.scan_tag_keys == tolist(["QualysScanStatus", "QualysScanTime", "QualysCritical", "QualysHigh"])
    error_message = "The allowed tag keys are an output."
  }
  assert {
    condition     = !anytrue([for s in jsondecode(module.worker.role_policy.policy).Statement : contains(flatten([s.Action]), "lambda:UntagResource")])
    error_message = "The scanner never removes tags."
  }
}

run "tagging_keys_empty_when_off" {
  command = plan

  assert {
    condition     = length(output.scan_tag_keys) == 0
    error_message = "No tag keys when tagging is off."
  }
}

run "bulk_scan_permissions_only_with_schedule" {
  command = apply

  variables {
    bulk_scan_schedule_expression = "rate(12 hours)"
    spoke_role_name               = "qscan-spoke-read-eu-west-1"
    vpc_config                    = { subnet_ids = ["subnet-0123456789abcdef0"], security_group_ids = ["sg-0123456789abcdef0"] }
  }

  assert {
    condition     = [for s in slice(jsondecode(module.worker.role_policy.policy).Statement, 12, 16) : s.Sid] == ["ListFunctionsForBulkScan", "QueueBulkScanRequests", "AssumeSpokeReadRole", "VpcNetworkInterfaces"]
    error_message = "The schedule, a spoke role and a VPC each bring their statements."
  }
  assert {
    condition     = jsondecode(module.worker.role_policy.policy).Statement[13].Action == "sqs:SendMessage" && jsondecode(module.worker.role_policy.policy).Statement[13].Resource == module.worker.queue.arn
    error_message = "Fan-out may send only to the scan queue."
  }
  assert {
    condition     = jsondecode(module.worker.role_policy.policy).Statement[14].Resource == "arn:aws:iam::*:role/qscan-spoke-read-eu-west-1"
    error_message = "sts:AssumeRole only on the named spoke role."
  }
  assert {
    condition     = !contains(keys(jsondecode(module.worker.role_policy.policy).Statement[14]), "Condition")
    error_message = "Without organization_id the spoke role carries no organization condition."
  }
}

run "organization_id_limits_spoke_roles_and_image_pulls_to_the_organization" {
  command = apply

  variables {
    spoke_role_name   = "qscan-spoke-read-eu-west-1"
    spoke_external_id = "o-abc123-qscan"
    organization_id   = "o-a1b2c3d4e5"
  }

  assert {
    condition = one([for s in jsondecode(module.worker.role_policy.policy).Statement : s if s.Sid == "AssumeSpokeReadRole"]) == {
      Sid       = "AssumeSpokeReadRole"
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Resource  = "arn:aws:iam::*:role/qscan-spoke-read-eu-west-1"
      Condition = { StringEquals = { "aws:ResourceOrgID" = "o-a1b2c3d4e5" } }
    }
    error_message = "sts:AssumeRole must be limited to spoke roles of the organization (aws:ResourceOrgID)."
  }
  assert {
    condition = one([for s in jsondecode(module.worker.role_policy.policy).Statement : s if s.Sid == "ReadFunctionImages"]) == {
      Sid       = "ReadFunctionImages"
      Effect    = "Allow"
      Action    = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages", "ecr:BatchCheckLayerAvailability"]
      Resource  = "arn:aws:ecr:eu-west-1:*:repository/*"
      Condition = { StringEquals = { "aws:ResourceOrgID" = "o-a1b2c3d4e5" } }
    }
    error_message = "Image pulls from other accounts' registries must be limited to the organization."
  }
  assert {
    condition     = !contains(keys(one([for s in jsondecode(module.worker.role_policy.policy).Statement : s if s.Sid == "EcrRegistryLogin"])), "Condition")
    error_message = "GetAuthorizationToken has no resource, so no aws:ResourceOrgID condition (it would never match)."
  }
}

run "alarms_notify_alerts_topic" {
  command = plan

  assert {
    condition = alltrue([for alarm in [
      module.worker.alarms.lambda_errors, module.worker.alarms.lambda_throttles,
      module.worker.alarms.dlq_visible, module.worker.alarms.queue_age,
    ] : alarm.alarm_actions == toset([var.core.alert_topic_arn])])
    error_message = "Every alarm must notify the alerts topic."
  }
  assert {
    condition     = module.worker.alarms.dlq_visible.dimensions["QueueName"] == "qscan-lambda-scan-dlq" && module.worker.alarms.dlq_visible.threshold == 0
    error_message = "The DLQ alarm fires on the first dead-lettered message."
  }
  assert {
    condition     = module.worker.alarms.queue_age.dimensions["QueueName"] == "qscan-lambda-scan" && module.worker.alarms.queue_age.threshold == 3600
    error_message = "The queue age alarm watches the scan queue."
  }
  assert {
    condition     = module.worker.alarms.lambda_errors.dimensions["FunctionName"] == "qscan-lambda-scanner"
    error_message = "The error alarm watches the scanner function."
  }
}

run "dashboard_reads_emf_namespace" {
  command = plan

  variables {
    metrics_namespace = "secops/qscan"
  }

  assert {
    condition     = jsondecode(module.worker.dashboard.dashboard_body).widgets[0].properties.metrics[0] == ["secops/qscan", "ScansStarted", "service", "qscan-lambda"]
    error_message = "Scan widgets must read the EMF namespace and service dimension."
  }
  assert {
    condition     = length(jsondecode(module.worker.dashboard.dashboard_body).widgets[1].properties.metrics) == 5
    error_message = "Findings are shown for five severities."
  }
  assert {
    condition     = module.worker.function.environment[0].variables["QSCAN_METRICS_NAMESPACE"] == "secops/qscan" && module.worker.function.environment[0].variables["QSCAN_SERVICE_NAME"] == "qscan-lambda"
    error_message = "The handler must emit into the namespace the dashboard reads."
  }
}

run "dashboard_optional" {
  command = plan

  variables {
    create_dashboard = false
  }

  assert {
    condition     = module.worker.dashboard == null && output.dashboard_name == null
    error_message = "No dashboard when create_dashboard is false."
  }
}

run "layer_from_artifact" {
  command = apply

  variables {
    qscanner_layer_arn      = null
    qscanner_layer_artifact = { s3_bucket = "artifacts-123456789012", s3_key = "qscan/qscanner-layer.zip" }
  }

  assert {
    condition     = module.worker.qscanner_layer.layer_name == "qscan-lambda-qscanner" && module.worker.function.layers == tolist(["arn:aws:lambda:eu-west-1:123456789012:layer:qscan-lambda-qscanner:1"])
    error_message = "The layer artifact is published and attached."
  }
}

run "retry_backoff_reaches_the_handler" {
  command = plan
  variables {
    retry_backoff = { base_seconds = 30 }
  }
  assert {
    condition = (
      module.worker.function.environment[0].variables["QSCAN_RETRY_BACKOFF_BASE_SECONDS"] == "30" &&
      module.worker.function.environment[0].variables["QSCAN_RETRY_BACKOFF_MAX_SECONDS"] == "900"
    )
    error_message = "retry_backoff is passed through, its unset fields at their defaults."
  }
}
