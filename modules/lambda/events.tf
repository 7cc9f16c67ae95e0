# One rule for the three CloudTrail calls that deploy code or change what runs (layers, image, runtime).
# The scanner's own functions are excluded in the pattern, in every form `requestParameters.functionName`
# takes (name, ARN with or without qualifier, partial ARN `<account>:function:<name>`); EventBridge cannot AND
# two conditions on one field, so both forms go into one `anything-but` wildcard list. The handler skips them
# too (QSCAN_SELF_FUNCTION_PREFIX), e.g. for events forwarded by spokes whose rules predate this pattern.
locals {
  deploy_event_names = [
    "CreateFunction20150331",
    "UpdateFunctionCode20150331v2",
    "UpdateFunctionConfiguration20150331v2",
  ]

  self_function_wildcards = [
    "${local.self_function_prefix}*",
    "*:function:${local.self_function_prefix}*",
  ]

  deploy_event_pattern = jsonencode({
    source        = ["aws.lambda"]
    "detail-type" = ["AWS API Call via CloudTrail"]
    detail = {
      eventSource = ["lambda.amazonaws.com"]
      eventName   = local.deploy_event_names
      errorCode   = [{ exists = false }]
      requestParameters = {
        functionName = [{ "anything-but" = { wildcard = local.self_function_wildcards } }]
      }
    }
  })

  # The bulk-scan request the schedule puts into the scan queue (a constant EventBridge-shaped event; the
  # SQS messageId tells runs apart). The handler answers it by listing this region's functions and queueing
  # one scan request per function.
  bulk_scan_input = jsonencode({
    version       = "0"
    source        = "qscan.bulk-scan"
    "detail-type" = "qscan Bulk Scan Request"
    account       = local.account_id
    region        = local.region
    detail        = { platform = "lambda" }
  })

  has_bulk_scan = var.bulk_scan_schedule_expression != null

  rule_arns = concat(
    [aws_cloudwatch_event_rule.deploy.arn],
    aws_cloudwatch_event_rule.bulk_scan[*].arn,
  )
}

resource "aws_cloudwatch_event_rule" "deploy" {
  name           = local.deploy_rule_name
  description    = "qscan: Lambda CreateFunction/UpdateFunctionCode/UpdateFunctionConfiguration calls (CloudTrail) to the scan queue"
  event_bus_name = var.event_bus_name
  event_pattern  = local.deploy_event_pattern
  tags           = local.tags

  lifecycle {
    precondition {
      condition     = !(var.create_trail && var.existing_trail_arn != null)
      error_message = "Set create_trail or existing_trail_arn, not both."
    }
    precondition {
      condition     = var.create_trail || var.existing_trail_arn != null || var.event_bus_name != "default"
      error_message = "Lambda CloudTrail events reach the default bus only while a trail records write management events: set create_trail = true, or existing_trail_arn to the trail that already records them (e.g. the organization trail)."
    }
  }
}

resource "aws_cloudwatch_event_target" "deploy" {
  rule           = aws_cloudwatch_event_rule.deploy.name
  event_bus_name = var.event_bus_name
  target_id      = "scan-queue"
  arn            = module.worker.queue.arn

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }

  # Events EventBridge cannot deliver land next to failed scans, so the DLQ alarm covers both.
  dead_letter_config {
    arn = module.worker.dlq.arn
  }
}

# Scheduled rules exist only on the default bus, whatever event_bus_name says.
resource "aws_cloudwatch_event_rule" "bulk_scan" {
  count = local.has_bulk_scan ? 1 : 0

  name                = local.bulk_rule_name
  event_bus_name      = "default"
  description         = "qscan: periodic bulk scan of every Lambda function in ${local.region} (request to the scan queue)"
  schedule_expression = var.bulk_scan_schedule_expression
  tags                = local.tags
}

resource "aws_cloudwatch_event_target" "bulk_scan" {
  count = local.has_bulk_scan ? 1 : 0

  rule           = aws_cloudwatch_event_rule.bulk_scan[0].name
  event_bus_name = "default"
  target_id      = "scan-queue"
  arn            = module.worker.queue.arn
  input          = local.bulk_scan_input

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 20
  }

  dead_letter_config {
    arn = module.worker.dlq.arn
  }
}
