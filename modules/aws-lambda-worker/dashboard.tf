locals {
  # EMF metrics the handler emits (qscan.metrics: namespace QSCAN_METRICS_NAMESPACE, dimension `service`, and
  # per account `service` + `account`).
  scan_metric_names = ["ScansStarted", "ScansSucceeded", "ScansFailed", "ScanAttemptsFailed", "ScansDeduplicated", "EventsSkipped", "EventsDeadLettered"]
  finding_metric_names = {
    Critical      = "FindingsCritical"
    High          = "FindingsHigh"
    Medium        = "FindingsMedium"
    Low           = "FindingsLow"
    Informational = "FindingsInformational"
  }

  # Per-account series (hub-spoke): the handlers also emit every metric with the dimensions service + account
  # (qscan.metrics). The accounts are not known at plan time, so the widgets SEARCH that exact dimension set:
  # one line per account that sent events in the period, labelled by its account id.
  per_account_metrics = {
    scans    = { title = "Scans per account", metrics = { ScansSucceeded = "succeeded", ScansDeduplicated = "deduplicated" } }
    failures = { title = "Failures per account", metrics = { ScansFailed = "failed", ScanAttemptsFailed = "failed attempts", EventsDeadLettered = "dead-lettered" } }
  }
  per_account_searches = {
    for key, widget in local.per_account_metrics : key => [
      for name, label in widget.metrics : {
        id         = lower("${key}_${name}")
        label      = "${label} $${PROP('Dim.account')}"
        expression = "SEARCH('{\"${var.metrics_namespace}\",account,service} MetricName=\"${name}\" service=\"${local.service_name}\"', 'Sum', 300)"
      }
    ]
  }

  dashboard_widgets = [
    {
      type = "metric", x = 0, y = 0, width = 12, height = 6
      properties = {
        title   = "Scans"
        region  = local.region
        view    = "timeSeries"
        stat    = "Sum"
        period  = 300
        metrics = [for name in local.scan_metric_names : [var.metrics_namespace, name, "service", local.service_name]]
      }
    },
    {
      type = "metric", x = 12, y = 0, width = 12, height = 6
      properties = {
        title   = "Findings by severity"
        region  = local.region
        view    = "timeSeries"
        stacked = true
        stat    = "Sum"
        period  = 300
        metrics = [
          for severity in ["Critical", "High", "Medium", "Low", "Informational"] :
          [var.metrics_namespace, local.finding_metric_names[severity], "service", local.service_name, { label = severity }]
        ]
      }
    },
    {
      type = "metric", x = 0, y = 6, width = 8, height = 6
      properties = {
        title  = "Scanner function"
        region = local.region
        view   = "timeSeries"
        stat   = "Sum"
        period = 300
        metrics = [
          ["AWS/Lambda", "Invocations", "FunctionName", local.function_name],
          ["AWS/Lambda", "Errors", "FunctionName", local.function_name],
          ["AWS/Lambda", "Throttles", "FunctionName", local.function_name],
        ]
      }
    },
    {
      type = "metric", x = 8, y = 6, width = 8, height = 6
      properties = {
        title   = "Scan queue: age of oldest event (s)"
        region  = local.region
        view    = "timeSeries"
        stat    = "Maximum"
        period  = 300
        metrics = [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", local.queue_name]]
        annotations = {
          horizontal = [{ label = "alarm", value = var.queue_age_alarm_seconds }]
        }
      }
    },
    {
      type = "metric", x = 16, y = 6, width = 8, height = 6
      properties = {
        title   = "Dead-letter queue depth"
        region  = local.region
        view    = "timeSeries"
        stat    = "Maximum"
        period  = 300
        metrics = [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", local.dlq_name]]
      }
    },
    {
      type = "metric", x = 0, y = 12, width = 12, height = 6
      properties = {
        title   = local.per_account_metrics.scans.title
        region  = local.region
        view    = "timeSeries"
        stat    = "Sum"
        period  = 300
        metrics = [for search in local.per_account_searches.scans : [search]]
      }
    },
    {
      type = "metric", x = 12, y = 12, width = 12, height = 6
      properties = {
        title   = local.per_account_metrics.failures.title
        region  = local.region
        view    = "timeSeries"
        stat    = "Sum"
        period  = 300
        metrics = [for search in local.per_account_searches.failures : [search]]
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.create_dashboard ? 1 : 0

  dashboard_name = local.dashboard_name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
