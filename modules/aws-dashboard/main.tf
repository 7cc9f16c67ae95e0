locals {
  # The EMF metrics every qscan scanner emits (qscan.metrics.DASHBOARD_METRICS: namespace
  # QSCAN_METRICS_NAMESPACE, dimension `service`, and per account `service` + `account`).
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
        expression = "SEARCH('{\"${var.metrics_namespace}\",account,service} MetricName=\"${name}\" service=\"${var.service_name}\"', 'Sum', 300)"
      }
    ]
  }

  # Row 1: the scans and findings; row 2: the caller's health widgets side by side; row 3: per account.
  health_width = floor(24 / max(1, length(var.health_widgets)))
  widgets = concat(
    [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title   = "Scans"
          region  = var.region
          view    = "timeSeries"
          stat    = "Sum"
          period  = 300
          metrics = [for name in local.scan_metric_names : [var.metrics_namespace, name, "service", var.service_name]]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title   = "Findings by severity"
          region  = var.region
          view    = "timeSeries"
          stacked = true
          stat    = "Sum"
          period  = 300
          metrics = [
            for severity in ["Critical", "High", "Medium", "Low", "Informational"] :
            [var.metrics_namespace, local.finding_metric_names[severity], "service", var.service_name, { label = severity }]
          ]
        }
      },
    ],
    [
      for index, widget in var.health_widgets : {
        type = "metric", x = index * local.health_width, y = 6, width = local.health_width, height = 6
        properties = merge(
          {
            title   = widget.title
            region  = var.region
            view    = "timeSeries"
            stat    = widget.stat
            period  = 300
            metrics = widget.metrics
          },
          widget.alarm_threshold == null ? {} : { annotations = { horizontal = [{ label = "alarm", value = widget.alarm_threshold }] } },
        )
      }
    ],
    [
      for index, key in ["scans", "failures"] : {
        type = "metric", x = index * 12, y = 12, width = 12, height = 6
        properties = {
          title   = local.per_account_metrics[key].title
          region  = var.region
          view    = "timeSeries"
          stat    = "Sum"
          period  = 300
          metrics = [for search in local.per_account_searches[key] : [search]]
        }
      }
    ],
  )
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.create ? 1 : 0

  dashboard_name = var.name
  dashboard_body = jsonencode({ widgets = local.widgets })
}
