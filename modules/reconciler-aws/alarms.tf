resource "aws_cloudwatch_metric_alarm" "never_scanned" {
  count = var.never_scanned_alarm ? 1 : 0

  alarm_name          = "${local.function_name}-never-scanned"
  alarm_description   = "Artifacts that run or were pushed stayed never scanned for a whole day (docs/reconciler.md)."
  namespace           = var.metrics_namespace
  metric_name         = "NeverScanned"
  dimensions          = { service = local.service_name }
  statistic           = "Minimum"
  period              = 86400
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.core.alert_topic_arn]
  ok_actions          = [var.core.alert_topic_arn]
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${local.function_name}-errors"
  alarm_description   = "A reconciler run failed (bad settings, the dedupe store or the results bucket unreachable)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.core.alert_topic_arn]
  tags                = local.tags
}
