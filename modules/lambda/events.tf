# One rule for the three CloudTrail calls that deploy code or change what runs (layers, image, runtime).
#
# qscan's own functions (local.self_function_names: this scanner and the names passed in) are excluded by
# exact name, never by prefix, and only where the name means them: in events of this account and region.
# `requestParameters.functionName` takes the forms name, partial ARN `<account>:function:<name>` and ARN
# `arn:<partition>:lambda:<region>:<account>:function:<name>` (a qualifier `:<version|alias>` is matched too,
# although these calls reject one). The pattern is an `$or` of three branches:
#   - another account's event (a spoke forwarding to a hub bus): matched whatever the function is called;
#   - another region's event (cross-region forwarding): likewise;
#   - this account's and region's event: matched unless functionName is one of the own forms.
# Leaf paths are disjoint between the outer pattern and the branches (EventBridge ANDs the outer fields with
# the branch). The handler applies the same rule (QSCAN_SELF_FUNCTION_NAMES, plus its own ARN).
locals {
  deploy_event_names = [
    "CreateFunction20150331",
    "UpdateFunctionCode20150331v2",
    "UpdateFunctionConfiguration20150331v2",
  ]

  # Exact strings, except the qualified forms (one trailing wildcard after the exact partial ARN; the `*`
  # prefix covers `arn:<partition>:lambda:<region>:` of a full ARN, which in this branch can only be this
  # region's). None of them can match a function of another name.
  self_function_forms = flatten([
    for name in local.self_function_names : [
      name,
      "${local.account_id}:function:${name}",
      "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${name}",
      "*${local.account_id}:function:${name}:*",
    ]
  ])

  deploy_event_pattern = jsonencode({
    source        = ["aws.lambda"]
    "detail-type" = ["AWS API Call via CloudTrail"]
    detail = {
      eventSource = ["lambda.amazonaws.com"]
      eventName   = local.deploy_event_names
      errorCode   = [{ exists = false }]
    }
    "$or" = [
      { account = [{ "anything-but" = local.account_id }] },
      { region = [{ "anything-but" = local.region }] },
      {
        account = [local.account_id]
        region  = [local.region]
        detail = {
          requestParameters = {
            functionName = [{ "anything-but" = { wildcard = local.self_function_forms } }]
          }
        }
      },
    ]
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
      condition     = length(local.deploy_event_pattern) <= 2048
      error_message = "The deployment rule's event pattern is ${length(local.deploy_event_pattern)} characters, more than EventBridge's default quota of 2048: list fewer or shorter self_function_names."
    }
    precondition {
      condition     = var.existing_trail_arn != null || var.event_bus_name != "default"
      error_message = "Lambda CloudTrail events reach the default bus only while a trail records write management events: set existing_trail_arn to modules/aws-trail's trail_arn or to the trail that already records them (e.g. the organization trail)."
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
