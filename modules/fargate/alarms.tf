# Silence is a bug: failed, timed-out and aborted executions and dead-lettered events reach the alerts topic.
locals {
  execution_alarms = {
    failed    = { metric = "ExecutionsFailed", what = "failed (a failure notification could not be sent, or an event's images could not be resolved)" }
    timed_out = { metric = "ExecutionsTimedOut", what = "timed out (execution_timeout_seconds)" }
    aborted   = { metric = "ExecutionsAborted", what = "were aborted" }
  }
}

resource "aws_cloudwatch_metric_alarm" "executions" {
  for_each = local.execution_alarms

  alarm_name          = "${local.state_machine_name}-executions-${replace(each.key, "_", "-")}"
  alarm_description   = "qscan: Fargate scan workflow executions ${each.value.what}"
  namespace           = "AWS/States"
  metric_name         = each.value.metric
  dimensions          = { StateMachineArn = aws_sfn_state_machine.this.arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.core.alert_topic_arn]
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "dlq_visible" {
  alarm_name          = "${var.name_prefix}-fargate-events-dlq-not-empty"
  alarm_description   = "qscan: ECS events EventBridge could not start the Fargate scan workflow for"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.core.alert_topic_arn]
  tags                = local.tags
}
