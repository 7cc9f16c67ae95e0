data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # IAM names are global: the region keeps a second regional deployment from colliding.
  function_name      = "${var.name_prefix}-fargate-tasks"
  service_name       = "${var.name_prefix}-fargate" # `service` dimension of the task function's EMF metrics
  state_machine_name = "${var.name_prefix}-fargate-scan"

  tags = merge(var.tags, { "qscan:component" = "fargate" })

  # The workflow (JSONPath ASL, validated on its own by asl-validator in tests/unit/test_fargate_workflow.py).
  definition = templatefile("${path.module}/workflow.asl.json", {
    task_function_arn         = aws_lambda_function.tasks.arn
    backend                   = var.scanner_backend
    max_concurrency           = var.max_concurrency
    max_polls                 = var.max_polls
    poll_interval_seconds     = var.poll_interval_seconds
    task_timeout_seconds      = var.task_timeout_seconds
    scan_timeout_seconds      = var.scan_timeout_seconds
    execution_timeout_seconds = var.execution_timeout_seconds
    retry_interval_seconds    = var.retry.interval_seconds
    retry_max_attempts        = var.retry.max_attempts
    retry_max_delay_seconds   = var.retry.max_delay_seconds
  })

  task_environment = {
    for name, value in merge(var.core.handler_environment, {
      QSCAN_SCANNER_BACKEND      = var.scanner_backend
      QSCANNER_PATH              = var.scanner_backend == "qscanner" ? coalesce(var.qscanner_path, "/opt/bin/qscanner") : null
      QSCAN_SEVERITY_THRESHOLD   = upper(var.severity_threshold)
      QSCAN_SCAN_TIMEOUT_SECONDS = tostring(var.scan_timeout_seconds - 30)
      # A claim must outlive the registry sensor's polling (qualys-api: held from Claim to FetchResults).
      QSCAN_LEASE_MARGIN_SECONDS        = var.scanner_backend == "qualys-api" ? tostring(min(3600, var.max_polls * var.poll_interval_seconds + 120)) : null
      QSCAN_REGISTRY_CREDENTIALS_SECRET = var.registry_credentials_secret_arn
      QSCAN_QUALYS_REGISTRY_ROLE_ARN    = var.qualys_registry_role_arn
      QSCAN_SPOKE_ROLE_NAME             = var.spoke_role_name
      QSCAN_SPOKE_EXTERNAL_ID           = var.spoke_external_id
      QSCAN_SERVICE_NAME                = local.service_name
      QSCAN_METRICS_NAMESPACE           = var.metrics_namespace
    }) : name => value if value != null
  }
}

resource "aws_cloudwatch_log_group" "tasks" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.core.log_retention_days
  kms_key_id        = var.core.kms_key_arn
  tags              = local.tags
}

# The workflow's task functions: one artifact, the step named in each input (modules/fargate/README.md).
resource "aws_lambda_function" "tasks" {
  #checkov:skip=CKV_AWS_116:invoked synchronously by Step Functions, whose Retry/Catch handle failures; a function DLQ only serves async invokes
  #checkov:skip=CKV_AWS_117:qscanner needs the registries' and the Qualys gateway's endpoints; no VPC resources are read
  #checkov:skip=CKV_AWS_115:concurrency is bounded by the Map state's MaxConcurrency per execution
  #checkov:skip=CKV_AWS_272:code signing needs a signing profile the caller owns
  function_name    = local.function_name
  description      = "qscan: task functions of the Fargate/ECS scan workflow"
  role             = aws_iam_role.tasks.arn
  runtime          = "python3.12"
  architectures    = ["x86_64"] # qscanner ships for linux-amd64 only
  handler          = var.handler
  filename         = var.handler_artifact.local_path
  source_code_hash = var.handler_artifact.source_code_hash
  memory_size      = var.memory_size
  timeout          = var.scan_timeout_seconds
  layers           = var.qscanner_layer_arn == null ? [] : [var.qscanner_layer_arn]
  kms_key_arn      = var.core.kms_key_arn
  tags             = local.tags

  tracing_config {
    mode = var.enable_xray ? "Active" : "PassThrough"
  }

  environment {
    variables = local.task_environment
  }

  depends_on = [aws_cloudwatch_log_group.tasks, aws_iam_role_policy.tasks]

  lifecycle {
    precondition {
      condition     = var.scanner_backend != "qscanner" || var.qscanner_layer_arn != null || var.qscanner_path != null
      error_message = "The qscanner backend needs qscanner_layer_arn (e.g. modules/ecr's qscanner_layer_version_arn) or qscanner_path (where the handler package carries qscanner): nothing else provides /opt/bin/qscanner."
    }
    precondition {
      condition     = var.spoke_external_id == null || var.spoke_role_name != null
      error_message = "spoke_external_id only makes sense with spoke_role_name."
    }
  }
}

resource "aws_cloudwatch_log_group" "workflow" {
  # Step Functions log groups under /aws/vendedlogs/ avoid the CloudWatch Logs resource policy size limit.
  name              = "/aws/vendedlogs/states/${local.state_machine_name}"
  retention_in_days = var.core.log_retention_days
  kms_key_id        = var.core.kms_key_arn
  tags              = local.tags
}

resource "aws_sfn_state_machine" "this" {
  #checkov:skip=CKV_AWS_284:X-Ray is opt-in (var.enable_xray, billed per trace); execution logs and alarms cover failures
  name       = local.state_machine_name
  type       = "STANDARD"
  role_arn   = aws_iam_role.workflow.arn
  definition = local.definition
  tags       = local.tags

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.workflow.arn}:*"
    include_execution_data = var.workflow_log_level == "ALL"
    level                  = var.workflow_log_level
  }

  tracing_configuration {
    enabled = var.enable_xray
  }

  lifecycle {
    precondition {
      condition     = var.execution_timeout_seconds >= var.scan_timeout_seconds && (var.scanner_backend != "qualys-api" || var.execution_timeout_seconds >= var.max_polls * var.poll_interval_seconds)
      error_message = "execution_timeout_seconds must cover one scan: at least scan_timeout_seconds, and for qualys-api at least max_polls * poll_interval_seconds, or executions time out before a poll timeout can notify."
    }
    precondition {
      condition     = var.scanner_backend != "qualys-api" || var.max_polls * var.poll_interval_seconds <= 3480
      error_message = "qualys-api: max_polls * poll_interval_seconds must be at most 3480 s: an image's claim is held while Qualys is polled, and its lease (QSCAN_LEASE_MARGIN_SECONDS, at most 3600 s) must outlive the polling, or a second deployment scans the same image again."
    }
  }
}
