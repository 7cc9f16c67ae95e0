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

  lifecycle {
    precondition {
      condition     = var.queue_message_retention_seconds >= local.retry_horizon_seconds + local.lease_seconds
      error_message = "queue_message_retention_seconds (${var.queue_message_retention_seconds}) is shorter than the retry horizon plus the dedupe lease (${local.retry_horizon_seconds + local.lease_seconds} s = max_receive_count x timeout + the retry backoffs + scan timeout + 120 s): a retrying message would expire before its last attempt. Raise it, or lower max_receive_count or retry_backoff."
    }
  }
}

resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this.arn]
  })
}

locals {
  # Only the platform's rules and the scanner's role may send (the role sends deferred copies to the scan
  # queue and dead letters to the DLQ, see qscan.aws.sqs_retry); nobody may talk to the queues without TLS.
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
      {
        Sid       = key == "scan" ? "ScannerRequeuesDeferredRecords" : "ScannerDeadLetters"
        Effect    = "Allow"
        Principal = { AWS = aws_iam_role.this.arn }
        Action    = "sqs:SendMessage"
        Resource  = queue.arn
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
