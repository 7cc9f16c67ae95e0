# The workflow's dashboard (modules/aws-dashboard: scans, findings, per-account scans and failures, from the
# task function's EMF metrics) with the workflow's health row: executions, the task function, the events
# EventBridge could not deliver.
module "dashboard" {
  source = "../aws-dashboard"

  create            = var.create_dashboard
  name              = "${var.name_prefix}-fargate-${local.region}"
  region            = local.region
  metrics_namespace = var.metrics_namespace
  service_name      = local.service_name
  health_widgets = [
    {
      title   = "Workflow executions"
      stat    = "Sum"
      metrics = [for metric in ["ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"] : ["AWS/States", metric, "StateMachineArn", aws_sfn_state_machine.this.arn]]
    },
    {
      title   = "Task function"
      stat    = "Sum"
      metrics = [for metric in ["Invocations", "Errors", "Throttles"] : ["AWS/Lambda", metric, "FunctionName", local.function_name]]
    },
    {
      title   = "Undelivered ECS events (DLQ depth)"
      stat    = "Maximum"
      metrics = [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.dlq.name]]
    },
  ]
}
