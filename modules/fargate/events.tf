# Two rules, because EventBridge cannot make a filter depend on the call: RegisterTaskDefinition carries a
# family and no cluster (family filters), RunTask/CreateService/UpdateService carry a cluster (cluster filters).
# Both start the same state machine. Only successful calls: eventSource ecs.amazonaws.com and no errorCode.
#
# Filters become EventBridge matchers on one field, so include XOR exclude (EventBridge ORs the matchers of one
# field and cannot AND two conditions on it):
#   family  (requestParameters.family, always a name): "name" exact, "team-*" {"prefix"}; exclude: one
#           {"anything-but": {"wildcard": [...]}}.
#   cluster (requestParameters.cluster: a name, an ARN, or absent for the `default` cluster): each pattern
#           matches the name and the ARN (`arn:*:cluster/<pattern>`); an absent cluster counts as `default`
#           ({"exists": false} joins the include list when it names default, the exclude list when it does not).
locals {
  # JSON strings (or null): the matcher lists have different tuple types, which a conditional cannot mix.
  family_matchers = length(var.family_include) > 0 ? jsonencode([
    for p in var.family_include : endswith(p, "*") ? jsonencode({ prefix = trimsuffix(p, "*") }) : jsonencode(p)
    ]) : length(var.family_exclude) > 0 ? jsonencode([
    jsonencode({ "anything-but" = { wildcard = var.family_exclude } })
  ]) : null

  cluster_arn_patterns = [for p in concat(var.cluster_include, var.cluster_exclude) : "arn:*:cluster/${p}"]
  default_cluster_listed = anytrue([
    for p in concat(var.cluster_include, var.cluster_exclude) : p == "default" || (endswith(p, "*") && startswith("default", trimsuffix(p, "*")))
  ])
  cluster_matchers = length(var.cluster_include) > 0 ? jsonencode(concat(
    [for p in var.cluster_include : endswith(p, "*") ? jsonencode({ prefix = trimsuffix(p, "*") }) : jsonencode(p)],
    [for p in local.cluster_arn_patterns : jsonencode({ wildcard = p })],
    local.default_cluster_listed ? [jsonencode({ exists = false })] : [],
    )) : length(var.cluster_exclude) > 0 ? jsonencode(concat(
    [jsonencode({ "anything-but" = { wildcard = concat(var.cluster_exclude, local.cluster_arn_patterns) } })],
    local.default_cluster_listed ? [] : [jsonencode({ exists = false })],
  )) : null

  task_definition_event_pattern = jsonencode({
    source        = ["aws.ecs"]
    "detail-type" = ["AWS API Call via CloudTrail"]
    detail = merge(
      {
        eventSource = ["ecs.amazonaws.com"]
        eventName   = ["RegisterTaskDefinition"]
        errorCode   = [{ exists = false }]
      },
      local.family_matchers == null ? {} : { requestParameters = { family = [for m in jsondecode(local.family_matchers) : jsondecode(m)] } },
    )
  })

  deployment_event_pattern = jsonencode({
    source        = ["aws.ecs"]
    "detail-type" = ["AWS API Call via CloudTrail"]
    detail = merge(
      {
        eventSource = ["ecs.amazonaws.com"]
        eventName   = ["RunTask", "CreateService", "UpdateService"]
        errorCode   = [{ exists = false }]
      },
      local.cluster_matchers == null ? {} : { requestParameters = { cluster = [for m in jsondecode(local.cluster_matchers) : jsondecode(m)] } },
    )
  })

  rules = {
    task_definition = { name = "${var.name_prefix}-fargate-task-definition", pattern = local.task_definition_event_pattern, description = "qscan: successful ECS RegisterTaskDefinition calls to the scan workflow" }
    deployment      = { name = "${var.name_prefix}-fargate-deployment", pattern = local.deployment_event_pattern, description = "qscan: successful ECS RunTask, CreateService and UpdateService calls to the scan workflow" }
  }
}

resource "aws_cloudwatch_event_rule" "this" {
  for_each = local.rules

  name           = each.value.name
  description    = each.value.description
  event_bus_name = var.event_bus_name
  event_pattern  = each.value.pattern
  tags           = local.tags

  lifecycle {
    precondition {
      condition     = length(var.cluster_include) == 0 || length(var.cluster_exclude) == 0
      error_message = "Set cluster_include or cluster_exclude, not both: EventBridge cannot AND two conditions on one field."
    }
    precondition {
      condition     = length(var.family_include) == 0 || length(var.family_exclude) == 0
      error_message = "Set family_include or family_exclude, not both: EventBridge cannot AND two conditions on one field."
    }
    precondition {
      condition     = var.existing_trail_arn != null || var.event_bus_name != "default"
      error_message = "ECS CloudTrail events reach the default bus only while a trail records write management events: set existing_trail_arn to modules/aws-trail's trail_arn or to the trail that already records them (e.g. the organization trail)."
    }
    precondition {
      condition     = length(each.value.pattern) <= 2048
      error_message = "The ${each.key} rule's event pattern is ${length(each.value.pattern)} characters, more than EventBridge's default quota of 2048: list fewer or shorter filters."
    }
  }
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = local.rules

  rule           = aws_cloudwatch_event_rule.this[each.key].name
  event_bus_name = var.event_bus_name
  target_id      = "scan-workflow"
  arn            = aws_sfn_state_machine.this.arn
  role_arn       = aws_iam_role.events.arn

  retry_policy {
    maximum_event_age_in_seconds = var.event_max_age_seconds
    maximum_retry_attempts       = var.event_max_retry_attempts
  }

  # Events whose execution could not be started (throttling, a deleted state machine) are kept, alarmed.
  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name_prefix}-fargate-events-dlq"
  kms_master_key_id         = var.core.kms_key_arn
  message_retention_seconds = 1209600
  tags                      = local.tags
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "EventBridgeDeadLetters"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = aws_sqs_queue.dlq.arn
        Condition = { ArnEquals = { "aws:SourceArn" = [for rule in aws_cloudwatch_event_rule.this : rule.arn] } }
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
