# Queue, function, event source mapping, IAM, alarms and dashboard (mocked provider: plan, or apply without AWS).
mock_provider "aws" {
  source = "./tests/mocks"
}

# The two queues need distinct, valid ARNs (EventBridge target validators check them on apply).
override_resource {
  target = module.worker.aws_sqs_queue.this
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:qscan-ecr-scan"
    id  = "https://sqs.eu-west-1.amazonaws.com/123456789012/qscan-ecr-scan"
  }
}

override_resource {
  target = module.worker.aws_sqs_queue.dlq
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:qscan-ecr-scan-dlq"
    id  = "https://sqs.eu-west-1.amazonaws.com/123456789012/qscan-ecr-scan-dlq"
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
    local_path       = "dist/ecr-handler.zip"
    source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  }
  qscanner_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:qscanner:7"
}

run "names_carry_region_where_global" {
  command = plan

  assert {
    condition     = module.worker.role.name == "qscan-ecr-scanner-eu-west-1"
    error_message = "The IAM role name must carry the region."
  }
  assert {
    condition     = module.worker.role_policy.name == "qscan-ecr-scanner-eu-west-1-least-privilege"
    error_message = "The role policy name must carry the region."
  }
  assert {
    condition     = module.worker.dashboard.dashboard_name == "qscan-ecr-eu-west-1"
    error_message = "Dashboards are global: the name must carry the region."
  }
  assert {
    condition     = module.worker.function.function_name == "qscan-ecr-scanner" && module.worker.queue.name == "qscan-ecr-scan" && module.worker.dlq.name == "qscan-ecr-scan-dlq"
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
    condition     = module.worker.role.name == "qscan-ecr-scanner-us-west-2" && module.worker.dashboard.dashboard_name == "qscan-ecr-us-west-2"
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
    condition     = jsondecode(module.worker.dlq_redrive_allow_policy.redrive_allow_policy).sourceQueueArns == [module.worker.queue.arn]
    error_message = "Only the scan queue may redrive into the DLQ."
  }
  assert {
    condition     = jsondecode(module.worker.queue_policy.policy).Statement[0].Condition.ArnEquals["aws:SourceArn"] == output.event_rule_arns
    error_message = "The queue policy must admit exactly the module's rules."
  }
  assert {
    condition     = jsondecode(module.worker.queue_policy.policy).Statement[0].Principal.Service == "events.amazonaws.com" && jsondecode(module.worker.queue_policy.policy).Statement[0].Action == "sqs:SendMessage"
    error_message = "Only EventBridge may send, and only SendMessage."
  }
  assert {
    condition     = aws_cloudwatch_event_target.native.arn == module.worker.queue.arn && one(aws_cloudwatch_event_target.native.dead_letter_config).arn == module.worker.dlq.arn
    error_message = "The push rule targets the scan queue and dead-letters to the DLQ."
  }
}

run "visibility_timeout_follows_function_timeout" {
  command = plan

  variables {
    timeout              = 300
    max_receive_count    = 5
    scan_timeout_seconds = 240
  }

  assert {
    condition     = module.worker.queue.visibility_timeout_seconds == 1800
    error_message = "Visibility timeout must be derived as 6x the function timeout."
  }
  assert {
    condition     = module.worker.function.environment[0].variables["QSCAN_SCAN_TIMEOUT_SECONDS"] == "240"
    error_message = "An explicit scan timeout is passed through."
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
    condition     = module.worker.function.tracing_config[0].mode == "Active"
    error_message = "Tracing must be on."
  }
  assert {
    condition     = module.worker.function.reserved_concurrent_executions == -1
    error_message = "Concurrency is unreserved by default."
  }
  assert {
    condition     = module.worker.function.filename == "dist/ecr-handler.zip" && module.worker.function.source_code_hash == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    error_message = "The handler artifact arrives through the variable."
  }
  assert {
    condition     = module.worker.function.layers == tolist(["arn:aws:lambda:eu-west-1:123456789012:layer:qscanner:7"])
    error_message = "An existing qscanner layer is attached."
  }
  assert {
    condition     = module.worker.log_group.name == "/aws/lambda/qscan-ecr-scanner" && module.worker.log_group.retention_in_days == 365 && module.worker.log_group.kms_key_id == var.core.kms_key_arn
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
      QSCAN_SERVICE_NAME               = "qscan-ecr"
      QSCAN_METRICS_NAMESPACE          = "qscan"
      QSCAN_LOG_LEVEL                  = "INFO"
      QSCAN_MAX_RECEIVE_COUNT          = "3"
      QSCAN_RETRY_BACKOFF_BASE_SECONDS = "60"
      QSCAN_RETRY_BACKOFF_MAX_SECONDS  = "900"
      QSCAN_DEAD_LETTER_QUEUE_ARN      = "arn:aws:sqs:eu-west-1:123456789012:qscan-ecr-scan-dlq"
    })
    error_message = "Unexpected function environment."
  }
}

run "module_settings_win_over_extra_environment" {
  command = plan

  variables {
    environment_variables = { QSCAN_SEVERITY_THRESHOLD = "LOW", EXTRA = "1" }
    spoke_role_name       = "qscan-spoke-read-eu-west-1"
    spoke_external_id     = "o-abc123-qscan"
  }

  assert {
    condition     = module.worker.function.environment[0].variables["QSCAN_SEVERITY_THRESHOLD"] == "HIGH" && module.worker.function.environment[0].variables["EXTRA"] == "1"
    error_message = "Extra variables are added but cannot override module settings."
  }
  assert {
    condition     = module.worker.function.environment[0].variables["QSCAN_SPOKE_ROLE_NAME"] == "qscan-spoke-read-eu-west-1" && module.worker.function.environment[0].variables["QSCAN_SPOKE_EXTERNAL_ID"] == "o-abc123-qscan"
    error_message = "Spoke settings are passed to the handler."
  }
}

run "event_source_mapping" {
  command = plan

  assert {
    condition     = module.worker.event_source_mapping.batch_size == 1
    error_message = "One push event per invocation by default."
  }
  assert {
    condition     = module.worker.event_source_mapping.function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "Partial batch failures must be reported."
  }
  assert {
    condition     = module.worker.event_source_mapping.scaling_config[0].maximum_concurrency == 5
    error_message = "Concurrency is bounded at 5 by default."
  }
}

run "event_source_mapping_settings" {
  command = plan

  variables {
    batch_size                     = 4
    maximum_concurrency            = 20
    reserved_concurrent_executions = 20
  }

  assert {
    condition     = module.worker.event_source_mapping.batch_size == 4 && module.worker.event_source_mapping.scaling_config[0].maximum_concurrency == 20
    error_message = "Batch size and maximum concurrency come from the variables."
  }
  assert {
    condition     = module.worker.function.reserved_concurrent_executions == 20
    error_message = "Reserved concurrency is applied when set."
  }
}

run "event_source_mapping_can_be_left_out" {
  command = plan

  variables {
    create_event_source_mapping = false
  }

  assert {
    condition     = module.worker.event_source_mapping == null && output.event_source_mapping_uuid == null
    error_message = "Without the mapping nothing consumes the queue from Lambda (environments/local drives the handler itself)."
  }
  assert {
    condition     = module.worker.function.function_name == "qscan-ecr-scanner" && module.worker.queue.name == "qscan-ecr-scan"
    error_message = "The function and the queue stay when only the mapping is left out."
  }
}

run "layer_from_artifact" {
  command = apply

  variables {
    qscanner_layer_arn = null
    qscanner_layer_artifact = {
      s3_bucket = "artifacts-123456789012"
      s3_key    = "qscan/qscanner-layer.zip"
    }
  }

  assert {
    condition     = module.worker.qscanner_layer.s3_key == "qscan/qscanner-layer.zip" && module.worker.qscanner_layer.compatible_runtimes == toset(["python3.12"])
    error_message = "The layer artifact is published as a layer version."
  }
  assert {
    condition     = module.worker.function.layers == tolist(["arn:aws:lambda:eu-west-1:123456789012:layer:qscan-qscanner:1"])
    error_message = "The published layer is attached."
  }
  assert {
    condition     = output.qscanner_layer_version_arn == "arn:aws:lambda:eu-west-1:123456789012:layer:qscan-qscanner:1"
    error_message = "The layer version ARN is an output."
  }
}

run "no_layer_with_bundled_qscanner" {
  command = plan

  variables {
    qscanner_layer_arn    = null
    qscanner_path         = "/var/task/bin/qscanner"
    additional_layer_arns = ["arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:7"]
  }

  assert {
    condition     = module.worker.function.environment[0].variables["QSCANNER_PATH"] == "/var/task/bin/qscanner"
    error_message = "qscanner_path is passed to the handler."
  }
  assert {
    condition     = module.worker.qscanner_layer == null && length(module.worker.function.layers) == 1
    error_message = "Only the additional layer is attached."
  }
}

run "iam_least_privilege" {
  command = apply

  assert {
    condition = [for s in jsondecode(module.worker.role_policy.policy).Statement : s.Sid] == [
      "OwnLogGroup", "XRayTracing", "ConsumeScanQueue", "ReadPushedImages", "EcrRegistryLogin",
      "DedupeClaims", "WriteResults", "PublishAlerts", "ReadQualysToken", "UseStoreKeysThroughServices", "RequeueAndDeadLetter",
    ]
    error_message = "Unexpected statements (no sts:AssumeRole without a spoke role, no ENI rights outside a VPC)."
  }
  assert {
    condition     = jsondecode(module.worker.role_policy.policy).Statement[3].Resource == ["arn:aws:ecr:eu-west-1:123456789012:repository/*"]
    error_message = "ECR read must be limited to this account's registry in this region."
  }
  assert {
    condition     = jsondecode(module.worker.role_policy.policy).Statement[4].Action == "ecr:GetAuthorizationToken"
    error_message = "Only GetAuthorizationToken may use Resource *."
  }
  assert {
    condition     = jsondecode(module.worker.role_policy.policy).Statement[6].Resource == "arn:aws:s3:::qscan-results-123456789012-eu-west-1/results/ecr/*"
    error_message = "Results may be written only where qscan.results.keys puts ECR results (results/ecr/)."
  }
  assert {
    condition     = jsondecode(module.worker.role_policy.policy).Statement[0].Resource == "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/qscan-ecr-scanner:*"
    error_message = "Logging is limited to the function's own log group."
  }
  assert {
    condition     = contains(jsondecode(module.worker.role_policy.policy).Statement[9].Condition.StringEquals["kms:ViaService"], "sqs.eu-west-1.amazonaws.com")
    error_message = "KMS use must go through the store services."
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

run "iam_scoped_to_included_repositories_and_spoke_role" {
  command = apply

  variables {
    repository_include = ["payments", "team-*"]
    spoke_role_name    = "qscan-spoke-read-eu-west-1"
    vpc_config         = { subnet_ids = ["subnet-0123456789abcdef0"], security_group_ids = ["sg-0123456789abcdef0"] }
  }

  assert {
    condition = jsondecode(module.worker.role_policy.policy).Statement[3].Resource == [
      "arn:aws:ecr:eu-west-1:123456789012:repository/payments",
      "arn:aws:ecr:eu-west-1:123456789012:repository/team-*",
    ]
    error_message = "ECR read must follow the include patterns."
  }
  assert {
    condition     = jsondecode(module.worker.role_policy.policy).Statement[10].Sid == "AssumeSpokeReadRole" && jsondecode(module.worker.role_policy.policy).Statement[10].Resource == "arn:aws:iam::*:role/qscan-spoke-read-eu-west-1"
    error_message = "sts:AssumeRole only on the named spoke role."
  }
  assert {
    condition     = !contains(keys(jsondecode(module.worker.role_policy.policy).Statement[10]), "Condition")
    error_message = "Without organization_id the spoke role carries no organization condition."
  }
  assert {
    condition     = jsondecode(module.worker.role_policy.policy).Statement[11].Sid == "VpcNetworkInterfaces" && length(module.worker.function.vpc_config) == 1
    error_message = "VPC attachment brings the ENI permissions."
  }
}

run "organization_id_limits_the_spoke_role_to_the_organization" {
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
    condition     = one([for s in jsondecode(module.worker.role_policy.policy).Statement : s if s.Sid == "ReadPushedImages"]).Resource == ["arn:aws:ecr:eu-west-1:123456789012:repository/*"]
    error_message = "The ECR scanner pulls only this account's pushes with its own role (spokes' with the spoke role)."
  }
}

run "organization_id_alone_adds_no_statement" {
  command = plan

  variables {
    organization_id = "o-a1b2c3d4e5"
  }

  assert {
    condition     = !anytrue([for s in jsondecode(module.worker.role_policy.policy).Statement : s.Sid == "AssumeSpokeReadRole"])
    error_message = "No spoke role, no sts:AssumeRole, organization or not."
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
    condition     = module.worker.alarms.dlq_visible.dimensions["QueueName"] == "qscan-ecr-scan-dlq" && module.worker.alarms.dlq_visible.threshold == 0
    error_message = "The DLQ alarm fires on the first dead-lettered message."
  }
  assert {
    condition     = module.worker.alarms.queue_age.metric_name == "ApproximateAgeOfOldestMessage" && module.worker.alarms.queue_age.threshold == 3600
    error_message = "The queue age alarm watches the oldest message."
  }
  assert {
    condition     = module.worker.alarms.lambda_errors.dimensions["FunctionName"] == "qscan-ecr-scanner"
    error_message = "The error alarm watches the scanner function."
  }
}

run "dashboard_reads_emf_namespace" {
  command = plan

  variables {
    metrics_namespace = "secops/qscan"
  }

  assert {
    condition     = jsondecode(module.worker.dashboard.dashboard_body).widgets[0].properties.metrics[0] == ["secops/qscan", "ScansStarted", "service", "qscan-ecr"]
    error_message = "Scan widgets must read the EMF namespace and service dimension."
  }
  assert {
    condition     = length(jsondecode(module.worker.dashboard.dashboard_body).widgets[1].properties.metrics) == 5
    error_message = "Findings are shown for five severities."
  }
  assert {
    condition     = module.worker.function.environment[0].variables["QSCAN_METRICS_NAMESPACE"] == "secops/qscan" && module.worker.function.environment[0].variables["QSCAN_SERVICE_NAME"] == "qscan-ecr"
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
