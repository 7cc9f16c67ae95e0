# The hub of a hub-spoke deployment (security account, one home region): the central event bus spokes forward
# to, its resource policy (the organization and/or listed accounts, never nobody, never everyone), and the
# contract a spoke needs (spoke_config): the bus ARN, the patterns to forward, the read role's name, trust
# (scanner role ARNs + ExternalId) and permissions. The platform modules (ecr, lambda, fargate) listen on
# this bus (event_bus_name) and assume the spoke role (spoke_role_name, spoke_external_id, organization_id).

data "aws_partition" "current" {}

locals {
  partition       = data.aws_partition.current.partition
  spoke_role_name = coalesce(var.spoke_role_name, "${var.name_prefix}-spoke-read")
  tags            = merge(var.tags, { "qscan:component" = "hub" })

  # PutEvents by anyone of the organization (Principal "*" only ever with the aws:PrincipalOrgID condition),
  # and by the listed accounts. The variables' validations guarantee at least one statement.
  bus_policy_statements = concat(
    var.organization_id == null ? [] : [{
      Sid       = "OrganizationPutEvents"
      Effect    = "Allow"
      Principal = "*"
      Action    = "events:PutEvents"
      Resource  = aws_cloudwatch_event_bus.this.arn
      Condition = { StringEquals = { "aws:PrincipalOrgID" = var.organization_id } }
    }],
    length(var.account_ids) == 0 ? [] : [{
      Sid       = "AccountsPutEvents"
      Effect    = "Allow"
      Principal = { AWS = [for id in sort(distinct(var.account_ids)) : "arn:${local.partition}:iam::${id}:root"] }
      Action    = "events:PutEvents"
      Resource  = aws_cloudwatch_event_bus.this.arn
    }],
  )
  bus_policy = jsonencode({ Version = "2012-10-17", Statement = local.bus_policy_statements })
}

resource "aws_cloudwatch_event_bus" "this" {
  name = "${var.name_prefix}-hub"
  tags = local.tags
}

resource "aws_cloudwatch_event_bus_policy" "this" {
  event_bus_name = aws_cloudwatch_event_bus.this.name
  policy         = local.bus_policy
}
