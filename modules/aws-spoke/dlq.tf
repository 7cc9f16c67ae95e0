# The forwarding targets' dead-letter queue, encrypted with its own customer managed key (EventBridge cannot use
# the AWS managed SQS key), and its alarm.
resource "aws_kms_key" "dlq" {
  description             = "qscan spoke forwarding dead letters (${var.name_prefix}, ${local.region})"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  tags                    = local.tags
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "EnableIamPolicies"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        # AWS documents that aws:SourceAccount/SourceArn are absent on these KMS calls (a condition would drop
        # every dead letter); the queue policy limits senders to the forwarding rules.
        Sid       = "EventBridgeDeadLetters"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource  = "*"
      },
    ]
  })
}

resource "aws_kms_alias" "dlq" {
  name          = "alias/${var.name_prefix}-spoke-forward-dlq"
  target_key_id = aws_kms_key.dlq.key_id
}

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name_prefix}-spoke-forward-dlq"
  kms_master_key_id         = aws_kms_key.dlq.arn
  message_retention_seconds = 1209600
  tags                      = local.tags
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "ForwardingRulesDeadLetters"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = aws_sqs_queue.dlq.arn
        Condition = { ArnEquals = { "aws:SourceArn" = [for key in sort(keys(aws_cloudwatch_event_rule.forward)) : aws_cloudwatch_event_rule.forward[key].arn] } }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sqs:*"
        Resource  = aws_sqs_queue.dlq.arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

resource "aws_cloudwatch_metric_alarm" "dlq" {
  alarm_name          = "${var.name_prefix}-spoke-forward-dlq-${local.region}"
  alarm_description   = "qscan: platform events this spoke could not forward to the hub bus (check the hub bus policy and the forwarding role)"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.dlq_alarm_actions
  tags                = local.tags
}
