data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  dns_suffix = data.aws_partition.current.dns_suffix
  region     = data.aws_region.current.name

  function_name = "${var.name_prefix}-reconciler"
  # IAM names are global: the region keeps a second region's deployment from colliding.
  role_name           = "${var.name_prefix}-reconciler-${local.region}"
  scheduler_role_name = "${var.name_prefix}-reconciler-schedule-${local.region}"
  service_name        = "${var.name_prefix}-reconciler" # the EMF `service` dimension the alarm reads
  tags                = merge(var.tags, { "qscan:component" = "reconciler" })

  queues = {
    ecr    = var.destinations.ecr_queue
    lambda = var.destinations.lambda_queue
  }
  has_destination = {
    ecr    = var.destinations.ecr_queue != null
    ecs    = var.destinations.state_machine_arn != null
    lambda = var.destinations.lambda_queue != null
  }
  services   = var.services != null ? var.services : [for s in ["ecr", "ecs", "lambda"] : s if local.has_destination[s]]
  queue_arns = [for service, queue in local.queues : queue.arn if contains(local.services, service) && queue != null]

  # The handler's settings (shared/qscan/config.py; docs/reconciler.md). The rescan interval is the store's cache
  # TTL (QSCAN_CACHE_TTL_SECONDS from core.handler_environment, 7 days unless set there).
  environment = merge(
    var.core.handler_environment,
    {
      QSCAN_CLOUD                            = "aws"
      QSCAN_SERVICE_NAME                     = local.service_name
      QSCAN_METRICS_NAMESPACE                = var.metrics_namespace
      QSCAN_LOG_LEVEL                        = var.log_level
      QSCAN_RECONCILE_SERVICES               = join(",", local.services)
      QSCAN_RECONCILE_REGIONS                = join(",", length(var.regions) > 0 ? var.regions : [local.region])
      QSCAN_RECONCILE_MAX_PAGES              = tostring(var.limits.max_pages)
      QSCAN_RECONCILE_MAX_SECONDS            = tostring(var.limits.max_seconds)
      QSCAN_RECONCILE_MAX_REQUESTS           = tostring(var.limits.max_requests)
      QSCAN_RECONCILE_REQUEST_WINDOW_SECONDS = tostring(var.limits.request_window_seconds)
      QSCAN_RECONCILE_LOOKBACK_DAYS          = tostring(var.limits.lookback_days)
      QSCAN_SELF_FUNCTION_NAMES              = join(",", distinct(concat([local.function_name], var.self_function_names)))
    },
    length(var.accounts) > 0 ? { QSCAN_RECONCILE_ACCOUNTS = join(",", var.accounts) } : {},
    contains(local.services, "ecr") ? { QSCAN_RECONCILE_ECR_QUEUE_URL = try(var.destinations.ecr_queue.url, "") } : {},
    contains(local.services, "lambda") ? { QSCAN_RECONCILE_LAMBDA_QUEUE_URL = try(var.destinations.lambda_queue.url, "") } : {},
    contains(local.services, "ecs") ? { QSCAN_RECONCILE_STATE_MACHINE_ARN = var.destinations.state_machine_arn == null ? "" : var.destinations.state_machine_arn } : {},
    var.spoke_role_name == null ? {} : { QSCAN_SPOKE_ROLE_NAME = var.spoke_role_name },
    var.spoke_external_id == null ? {} : { QSCAN_SPOKE_EXTERNAL_ID = var.spoke_external_id },
  )
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.core.log_retention_days
  kms_key_id        = var.core.kms_key_arn
  tags              = local.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:the input is a constant "{}" from EventBridge Scheduler: a failed run (retried by Lambda itself, then in the errors alarm) is repeated by the next scheduled run, a DLQ would keep nothing
  #checkov:skip=CKV_AWS_117:lists AWS APIs only; VPC attachment would need endpoints for ECR, ECS, Lambda, SQS, Step Functions, S3 and DynamoDB
  #checkov:skip=CKV_AWS_272:code signing needs a signing profile; the package comes from `make package` like the scanners'
  function_name                  = local.function_name
  description                    = "qscan: lists what runs and what was pushed, requests scans of what is not covered"
  role                           = aws_iam_role.this.arn
  runtime                        = "python3.12"
  architectures                  = ["x86_64"]
  handler                        = "handler.lambda_handler"
  filename                       = var.handler_artifact.local_path
  source_code_hash               = var.handler_artifact.source_code_hash
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = 1 # one run at a time; an overlapping schedule waits (runs are idempotent anyway)
  kms_key_arn                    = var.core.kms_key_arn
  tags                           = local.tags

  tracing_config {
    mode = "Active"
  }

  environment {
    variables = local.environment
  }

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]

  lifecycle {
    precondition {
      condition     = var.limits.max_seconds <= var.timeout - 30
      error_message = "limits.max_seconds must be at most timeout - 30: the run writes its snapshots and metrics after the listing."
    }
    precondition {
      condition     = alltrue([for s in local.services : local.has_destination[s]])
      error_message = "Every listed service needs its destination: ecr -> destinations.ecr_queue, lambda -> destinations.lambda_queue, ecs -> destinations.state_machine_arn."
    }
    precondition {
      condition     = length(var.accounts) == 0 || (var.spoke_role_name != null && var.spoke_external_id != null)
      error_message = "accounts are read through the spoke role: set spoke_role_name and spoke_external_id."
    }
  }
}

