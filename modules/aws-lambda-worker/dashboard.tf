# The scanner's dashboard (modules/aws-dashboard: scans, findings, per-account scans and failures) with the
# worker's health row: the function, the scan queue's age and the dead-letter queue.
module "dashboard" {
  source = "../aws-dashboard"

  create            = var.create_dashboard
  name              = local.dashboard_name
  region            = local.region
  metrics_namespace = var.metrics_namespace
  service_name      = local.service_name
  health_widgets = [
    {
      title = "Scanner function"
      stat  = "Sum"
      metrics = [
        ["AWS/Lambda", "Invocations", "FunctionName", local.function_name],
        ["AWS/Lambda", "Errors", "FunctionName", local.function_name],
        ["AWS/Lambda", "Throttles", "FunctionName", local.function_name],
      ]
    },
    {
      title           = "Scan queue: age of oldest event (s)"
      stat            = "Maximum"
      metrics         = [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", local.queue_name]]
      alarm_threshold = var.queue_age_alarm_seconds
    },
    {
      title   = "Dead-letter queue depth"
      stat    = "Maximum"
      metrics = [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", local.dlq_name]]
    },
  ]
}

moved {
  from = aws_cloudwatch_dashboard.this
  to   = module.dashboard.aws_cloudwatch_dashboard.this
}
