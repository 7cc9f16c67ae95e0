data "aws_caller_identity" "current" {}

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

  # SQS guidance for Lambda triggers: visibility timeout at least 6x the function timeout. A failed record does
  # not wait for it: the handler sets its visibility to the retry backoff (qscan.aws.sqs_retry).
  visibility_timeout_seconds = 6 * var.timeout

  # The retry horizon: how long a message that keeps failing stays in the scan queue at most when the handler
  # runs normally. Every attempt may take a whole function timeout and is followed by its backoff
  # min(base x 2^(n-1), max). The queue-age alarm must sit above it (a retrying message is not a stalled
  # queue) and the retention must cover it plus the dedupe lease (scan timeout + the handler's 120 s margin).
  retry_backoffs        = [for n in range(var.max_receive_count) : min(var.retry_backoff.base_seconds * pow(2, n), var.retry_backoff.max_seconds)]
  retry_horizon_seconds = var.max_receive_count * var.timeout + sum(concat([0], local.retry_backoffs))
  lease_seconds         = local.scan_timeout_seconds + 120

  # Known at plan time (the handler's setting; the queue resource's ARN is only known after apply).
  dlq_arn = "arn:${local.partition}:sqs:${local.region}:${data.aws_caller_identity.current.account_id}:${local.dlq_name}"

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
    QSCAN_SBOM_FORMAT          = var.sbom_format
    QSCAN_SCAN_TIMEOUT_SECONDS = tostring(local.scan_timeout_seconds)
    QSCAN_SCANNER_CACHE_MAX_MB = tostring(var.scanner_cache_max_mb)
    QSCANNER_PATH              = local.qscanner_path
    QSCAN_SPOKE_ROLE_NAME      = var.spoke_role_name
    QSCAN_SPOKE_EXTERNAL_ID    = var.spoke_external_id
    QSCAN_SERVICE_NAME         = local.service_name
    QSCAN_METRICS_NAMESPACE    = var.metrics_namespace
    QSCAN_LOG_LEVEL            = var.log_level
    # Retry semantics (qscan.aws.sqs_retry): attempts, backoff, the dead-letter queue the handler moves
    # finally failed (or deterministically failed) records to.
    QSCAN_MAX_RECEIVE_COUNT          = tostring(var.max_receive_count)
    QSCAN_RETRY_BACKOFF_BASE_SECONDS = tostring(var.retry_backoff.base_seconds)
    QSCAN_RETRY_BACKOFF_MAX_SECONDS  = tostring(var.retry_backoff.max_seconds)
    QSCAN_DEAD_LETTER_QUEUE_ARN      = local.dlq_arn
  }
  function_environment = {
    for name, value in merge(var.environment_variables, var.core.handler_environment, var.platform_environment, local.common_environment) :
    name => value if value != null
  }
}
