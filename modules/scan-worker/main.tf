data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  dns_suffix = data.aws_partition.current.dns_suffix

  # Regional names follow "<name_prefix>-<platform>-..."; IAM and dashboards are global, so their names
  # carry the region: a second regional deployment must not collide.
  function_name  = "${var.name_prefix}-${var.platform}-scanner"
  role_name      = "${var.name_prefix}-${var.platform}-scanner-${local.region}"
  queue_name     = "${var.name_prefix}-${var.platform}-scan"
  dlq_name       = "${var.name_prefix}-${var.platform}-scan-dlq"
  dashboard_name = "${var.name_prefix}-${var.platform}-${local.region}"
  service_name   = "${var.name_prefix}-${var.platform}" # `service` dimension of the EMF metrics

  # qscan.results.keys writes results/<platform>/...: the role may write only there.
  results_prefix = "results/${var.platform}/"

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

  # Settings every scanner reads (tests/unit/test_handler_*_module.py check each is a qscan.config.Settings
  # variable). They win over the platform's own settings, which win over core and extra variables; null
  # values are left out.
  common_environment = {
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
    for name, value in merge(var.environment_variables, var.core.handler_environment, var.platform_environment, local.common_environment) :
    name => value if value != null
  }
}
