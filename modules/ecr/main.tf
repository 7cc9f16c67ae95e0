data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  tags = merge(var.tags, { "qscan:component" = "ecr" })
}

# Queue + DLQ, scanner function, log group, role, event source mapping, alarms and dashboard: the building
# block every qscan platform module shares. Names: <name_prefix>-ecr-scanner, <name_prefix>-ecr-scan, ...
module "worker" {
  source = "../aws-lambda-worker"

  name_prefix = var.name_prefix
  platform    = "ecr"
  tags        = local.tags
  core        = var.core
  descriptions = {
    title        = "ECR"
    function     = "qscan: scans pushed ECR images with qscanner"
    role         = "qscan ECR scanner"
    dead_letters = "Push events"
    queued_event = "push event"
  }

  source_rule_arns                = local.rule_arns
  max_receive_count               = var.max_receive_count
  queue_message_retention_seconds = var.queue_message_retention_seconds
  retry_backoff                   = var.retry_backoff

  handler_artifact               = var.handler_artifact
  handler                        = var.handler
  qscanner_layer_name            = "${var.name_prefix}-qscanner"
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
  platform_policy_statements     = { read = jsonencode(local.read_statements) }

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
