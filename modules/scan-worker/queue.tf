resource "aws_sqs_queue" "dlq" {
  name                              = local.dlq_name
  message_retention_seconds         = 1209600
  kms_master_key_id                 = var.core.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = var.tags
}

resource "aws_sqs_queue" "this" {
  name                              = local.queue_name
  visibility_timeout_seconds        = local.visibility_timeout_seconds
  message_retention_seconds         = var.queue_message_retention_seconds
  receive_wait_time_seconds         = 20
  kms_master_key_id                 = var.core.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
  tags = var.tags
}

resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this.arn]
  })
}

locals {
  # Only the platform's rules may send; nobody may talk to the queues without TLS.
  queue_policy_statements = {
    for key, queue in { scan = aws_sqs_queue.this, dlq = aws_sqs_queue.dlq } : key => [
      {
        Sid       = "ScanRulesOnly"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = queue.arn
        Condition = { ArnEquals = { "aws:SourceArn" = var.source_rule_arns } }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sqs:*"
        Resource  = queue.arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  }
}

resource "aws_sqs_queue_policy" "this" {
  queue_url = aws_sqs_queue.this.id
  policy    = jsonencode({ Version = "2012-10-17", Statement = local.queue_policy_statements.scan })
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy    = jsonencode({ Version = "2012-10-17", Statement = local.queue_policy_statements.dlq })
}
