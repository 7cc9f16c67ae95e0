resource "aws_iam_role" "scheduler" {
  name        = local.scheduler_role_name
  description = "EventBridge Scheduler invokes the qscan reconciler (${local.region})"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "scheduler.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
  tags = local.tags
}

resource "aws_iam_role_policy" "scheduler" {
  name = "${local.scheduler_role_name}-invoke"
  role = aws_iam_role.scheduler.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Sid = "InvokeReconciler", Effect = "Allow", Action = ["lambda:InvokeFunction"], Resource = aws_lambda_function.this.arn }]
  })
}

resource "aws_scheduler_schedule" "this" {
  #checkov:skip=CKV_AWS_297:the schedule's only payload is the constant input "{}": nothing to encrypt with a customer key
  name                = local.function_name
  description         = "qscan reconciler run"
  schedule_expression = var.schedule_expression

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.this.arn
    role_arn = aws_iam_role.scheduler.arn
    input    = "{}"

    retry_policy {
      maximum_retry_attempts       = 0 # a failed run is not repeated: the next scheduled run lists everything again
      maximum_event_age_in_seconds = 3600
    }
  }
}
