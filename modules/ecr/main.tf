data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  dns_suffix = data.aws_partition.current.dns_suffix

  function_name = "${var.name_prefix}-ecr-scanner"
  # IAM is global: the region keeps a second regional deployment from colliding.
  role_name      = "${var.name_prefix}-ecr-scanner-${local.region}"
  queue_name     = "${var.name_prefix}-ecr-scan"
  dlq_name       = "${var.name_prefix}-ecr-scan-dlq"
  dashboard_name = "${var.name_prefix}-ecr-${local.region}" # dashboards are global too
  service_name   = "${var.name_prefix}-ecr"                 # `service` dimension of the EMF metrics

  # SQS guidance for Lambda triggers: visibility timeout at least 6x the function timeout.
  visibility_timeout_seconds = 6 * var.timeout

  scan_timeout_seconds = coalesce(var.scan_timeout_seconds, min(floor(var.timeout * 0.8), var.timeout - 30))

  has_qscanner_layer = var.qscanner_layer_artifact != null || var.qscanner_layer_arn != null
  qscanner_path      = var.qscanner_path != null ? var.qscanner_path : "/opt/bin/qscanner"
  qscanner_layer_arns = compact([
    var.qscanner_layer_artifact != null ? aws_lambda_layer_version.qscanner[0].arn : null,
    var.qscanner_layer_arn,
  ])
  layer_arns = concat(local.qscanner_layer_arns, var.additional_layer_arns)

  tags = merge(var.tags, { "qscan:component" = "ecr" })

  # Settings this module owns win over core and extra variables; null values are left out.
  # Every name is a variable qscan.config.Settings reads (tests/unit/test_handler_ecr_module.py checks it).
  module_environment = {
    QSCAN_SEVERITY_THRESHOLD   = upper(var.severity_threshold)
    QSCAN_SCAN_TYPES           = join(",", var.scan_types)
    QSCAN_SCAN_TIMEOUT_SECONDS = tostring(local.scan_timeout_seconds)
    QSCANNER_PATH              = local.qscanner_path
    QSCAN_SPOKE_ROLE_NAME      = var.spoke_role_name
    QSCAN_SPOKE_EXTERNAL_ID    = var.spoke_external_id
    QSCAN_SERVICE_NAME         = local.service_name
    QSCAN_METRICS_NAMESPACE    = var.metrics_namespace
    QSCAN_LOG_LEVEL            = var.log_level
  }
  function_environment = {
    for name, value in merge(var.environment_variables, var.core.handler_environment, local.module_environment) :
    name => value if value != null
  }
}
