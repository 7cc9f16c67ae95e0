data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  dns_suffix = data.aws_partition.current.dns_suffix

  function_name = "${var.name_prefix}-lambda-scanner"
  # IAM, dashboards, S3 bucket names and (multi-region) trail names are global: the region keeps a second
  # regional deployment from colliding. Queues, rules and the function are regional.
  role_name         = "${var.name_prefix}-lambda-scanner-${local.region}"
  queue_name        = "${var.name_prefix}-lambda-scan"
  dlq_name          = "${var.name_prefix}-lambda-scan-dlq"
  deploy_rule_name  = "${var.name_prefix}-lambda-deploy"
  bulk_rule_name    = "${var.name_prefix}-lambda-bulk-scan"
  dashboard_name    = "${var.name_prefix}-lambda-${local.region}"
  trail_name        = "${var.name_prefix}-lambda-trail-${local.region}"
  trail_bucket_name = "${var.name_prefix}-lambda-trail-${local.account_id}-${local.region}" # <= 61 characters
  service_name      = "${var.name_prefix}-lambda"                                           # EMF `service` dimension

  # Every qscan function is named "<name_prefix>-<platform>-..." (this module's scanner included), so by
  # default the whole prefix is the scanner's own and never scanned.
  self_function_prefix = coalesce(var.self_function_prefix, "${var.name_prefix}-")

  # Tag keys the handler writes on scanned functions when enable_tagging is on; lambda:TagResource is limited
  # to exactly these keys (aws:TagKeys).
  scan_tag_keys = ["QualysScanStatus", "QualysScanTime", "QualysCritical", "QualysHigh"]

  # Scan results live under results/<platform>/... (qscan.results.keys); container-image functions are
  # scanned as images but keep the platform `lambda`.
  results_prefix = "results/lambda/"

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

  tags = merge(var.tags, { "qscan:component" = "lambda" })

  # Settings this module owns win over core and extra variables; null values are left out.
  # QSCAN_SELF_FUNCTION_PREFIX and QSCAN_TAG_FUNCTIONS are this handler's own (see README: Handler contract).
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
    QSCAN_SELF_FUNCTION_PREFIX = local.self_function_prefix
    QSCAN_TAG_FUNCTIONS        = var.enable_tagging ? "true" : "false"
  }
  function_environment = {
    for name, value in merge(var.environment_variables, var.core.handler_environment, local.module_environment) :
    name => value if value != null
  }
}
