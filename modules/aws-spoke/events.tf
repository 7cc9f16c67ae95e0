# One rule per hub pattern on the default bus, each targeting the hub bus (cross-account and cross-region
# bus-to-bus delivery keeps the event's account and region).
resource "aws_cloudwatch_event_rule" "forward" {
  for_each = var.hub.event_patterns

  name           = local.rule_names[each.key]
  description    = "qscan: ${each.key} events to the hub bus"
  event_bus_name = "default"
  event_pattern  = each.value
  tags           = local.tags
}

resource "aws_cloudwatch_event_target" "forward" {
  for_each = var.hub.event_patterns

  rule           = aws_cloudwatch_event_rule.forward[each.key].name
  event_bus_name = "default"
  target_id      = "hub-bus"
  arn            = var.hub.event_bus_arn
  role_arn       = aws_iam_role.forward.arn

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }

  # Events the hub bus refuses (its policy) or that cannot be delivered are kept here, alarmed.
  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}

resource "aws_iam_role" "forward" {
  name        = local.forward_role_name
  description = "EventBridge forwards qscan platform events to the hub bus"
  tags        = local.tags
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "forward" {
  name = "${local.forward_role_name}-put-events"
  role = aws_iam_role.forward.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "PutEventsOnTheHubBus"
      Effect   = "Allow"
      Action   = "events:PutEvents"
      Resource = var.hub.event_bus_arn
    }]
  })
}
