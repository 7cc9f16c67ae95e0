# Repository filters become EventBridge matchers. EventBridge ORs the matchers of one field and cannot AND two
# conditions on the same field, hence include XOR exclude:
#   include: "name" -> exact, "team-*" (one trailing *) -> {"prefix"}, any other * -> {"wildcard"}
#   exclude: all exact -> {"anything-but": [names]}, else {"anything-but": {"wildcard": [patterns]}}
#            (a pattern without * is an exact match in wildcard syntax too)
locals {
  include_matchers = [
    for p in var.repository_include : jsondecode(
      !strcontains(p, "*") ? jsonencode(p) :
      (endswith(p, "*") && length(regexall("\\*", p)) == 1) ? jsonencode({ prefix = trimsuffix(p, "*") }) :
      jsonencode({ wildcard = p })
    )
  ]
  exclude_matchers = length(var.repository_exclude) == 0 ? [] : [jsondecode(
    alltrue([for p in var.repository_exclude : !strcontains(p, "*")])
    ? jsonencode({ "anything-but" = var.repository_exclude })
    : jsonencode({ "anything-but" = { wildcard = var.repository_exclude } })
  )]
  repository_matchers = length(var.repository_include) > 0 ? jsonencode(local.include_matchers) : (
    length(var.repository_exclude) > 0 ? jsonencode(local.exclude_matchers) : null
  )

  native_event_pattern = jsonencode({
    source        = ["aws.ecr"]
    "detail-type" = ["ECR Image Action"]
    detail = merge(
      {
        "action-type" = ["PUSH"]
        result        = ["SUCCESS"]
      },
      { for k, v in { "repository-name" = local.repository_matchers } : k => jsondecode(v) if v != null },
    )
  })

  cloudtrail_event_pattern = jsonencode({
    source        = ["aws.ecr"]
    "detail-type" = ["AWS API Call via CloudTrail"]
    detail = merge(
      {
        eventSource = ["ecr.amazonaws.com"]
        eventName   = ["PutImage"]
        errorCode   = [{ exists = false }]
      },
      { for k, v in { requestParameters = local.repository_matchers } : k => { repositoryName = jsondecode(v) } if v != null },
    )
  })

  rule_arns = concat(
    [aws_cloudwatch_event_rule.native.arn],
    aws_cloudwatch_event_rule.cloudtrail[*].arn,
  )
}

resource "aws_cloudwatch_event_rule" "native" {
  name           = "${var.name_prefix}-ecr-push"
  description    = "qscan: successful ECR image pushes (native ECR Image Action event) to the scan queue"
  event_bus_name = var.event_bus_name
  event_pattern  = local.native_event_pattern
  tags           = local.tags

  lifecycle {
    precondition {
      condition     = length(var.repository_include) == 0 || length(var.repository_exclude) == 0
      error_message = "Set repository_include or repository_exclude, not both: EventBridge cannot AND two conditions on one field."
    }
  }
}

resource "aws_cloudwatch_event_rule" "cloudtrail" {
  count = var.enable_cloudtrail_putimage ? 1 : 0

  name           = "${var.name_prefix}-ecr-putimage"
  description    = "qscan: successful ECR PutImage calls recorded by CloudTrail to the scan queue"
  event_bus_name = var.event_bus_name
  event_pattern  = local.cloudtrail_event_pattern
  tags           = local.tags
}

resource "aws_cloudwatch_event_target" "native" {
  rule           = aws_cloudwatch_event_rule.native.name
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

resource "aws_cloudwatch_event_target" "cloudtrail" {
  count = var.enable_cloudtrail_putimage ? 1 : 0

  rule           = aws_cloudwatch_event_rule.cloudtrail[0].name
  event_bus_name = var.event_bus_name
  target_id      = "scan-queue"
  arn            = module.worker.queue.arn

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = module.worker.dlq.arn
  }
}
