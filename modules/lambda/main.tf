data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # Rules are regional. (modules/aws-lambda-worker names the queues, function, role and dashboard; modules/aws-trail
  # the trail.)
  deploy_rule_name = "${var.name_prefix}-lambda-deploy"
  bulk_rule_name   = "${var.name_prefix}-lambda-bulk-scan"

  # qscan's own functions are never scanned: this module's scanner (named like modules/aws-lambda-worker names it)
  # and the exact names passed in (e.g. the ECR scanner). Exact names only: a prefix would also match
  # customers' functions such as "<name_prefix>-billing".
  function_name       = "${var.name_prefix}-lambda-scanner"
  self_function_names = distinct(concat([local.function_name], var.self_function_names))

  # Tag keys the handler writes on scanned functions when enable_tagging is on; lambda:TagResource is limited
  # to exactly these keys (aws:TagKeys).
  scan_tag_keys = ["QualysScanStatus", "QualysScanTime", "QualysCritical", "QualysHigh"]

  tags = merge(var.tags, { "qscan:component" = "lambda" })

  # The handler's own settings (see README: Handler contract); modules/aws-lambda-worker adds the common ones
  # (threshold, scan types and timeout, qscanner path, spoke role, service, metrics namespace, log level).
  platform_environment = {
    QSCAN_SELF_FUNCTION_NAMES = join(",", local.self_function_names)
    QSCAN_TAG_FUNCTIONS       = var.enable_tagging ? "true" : "false"
  }
}

# Queue + DLQ, scanner function, log group, role, event source mapping, alarms and dashboard: the building
# block every qscan platform module shares. Names: <name_prefix>-lambda-scanner, <name_prefix>-lambda-scan, ...
# Results go under results/lambda/ (qscan.results.keys): container-image functions are scanned as images but
# keep the platform `lambda`.
module "worker" {
  source = "../aws-lambda-worker"

  name_prefix = var.name_prefix
  platform    = "lambda"
  tags        = local.tags
  core        = var.core
  descriptions = {
    title        = "Lambda"
    function     = "qscan: scans deployed Lambda functions with qscanner"
    role         = "qscan Lambda function scanner"
    dead_letters = "Deployment events or bulk-scan requests"
    queued_event = "deployment event"
  }

  source_rule_arns                = local.rule_arns
  max_receive_count               = var.max_receive_count
  queue_message_retention_seconds = var.queue_message_retention_seconds
  retry_backoff                   = var.retry_backoff

  handler_artifact               = var.handler_artifact
  handler                        = var.handler
  qscanner_layer_name            = "${var.name_prefix}-lambda-qscanner"
  qscanner_layer_artifact        = var.qscanner_layer_artifact
  qscanner_layer_arn             = var.qscanner_layer_arn
  additional_layer_arns          = var.additional_layer_arns
  qscanner_path                  = var.qscanner_path
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  ephemeral_storage_size         = var.ephemeral_storage_size
  reserved_concurrent_executions = var.reserved_concurrent_executions
  maximum_concurrency            = var.maximum_concurrency
  create_event_source_mapping    = var.create_event_source_mapping
  batch_size                     = var.batch_size
  vpc_config                     = var.vpc_config
  code_signing_config_arn        = var.code_signing_config_arn
  environment_variables          = var.environment_variables
  platform_environment           = local.platform_environment
  platform_policy_statements = {
    read     = jsonencode(local.read_statements)
    optional = jsonencode(local.optional_statements)
  }

  severity_threshold   = var.severity_threshold
  scan_types           = var.scan_types
  sbom_format          = var.sbom_format
  scan_timeout_seconds = var.scan_timeout_seconds
  scanner_cache_max_mb = var.scanner_cache_max_mb
  spoke_role_name      = var.spoke_role_name
  spoke_external_id    = var.spoke_external_id
  organization_id      = var.organization_id
  log_level            = var.log_level

  metrics_namespace       = var.metrics_namespace
  queue_age_alarm_seconds = var.queue_age_alarm_seconds
  create_dashboard        = var.create_dashboard
}

# Migration: self_function_prefix (which excluded every function starting with it, customers' included) is
# deprecated and ignored; a plan that still sets it warns instead of failing.
check "self_function_prefix_is_deprecated" {
  assert {
    condition     = var.self_function_prefix == null
    error_message = "self_function_prefix is deprecated and ignored: functions that merely share a prefix are scanned now. List qscan's own functions by exact name in self_function_names (this module's scanner is always included) and remove self_function_prefix."
  }
}
