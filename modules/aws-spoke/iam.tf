# The read role the hub's scanners assume in this account (account-wide: one per account, see
# create_read_role): trusted by exactly the hub's scanner roles with the hub's ExternalId (and, with an
# organization, only while they belong to it); one inline policy per hub platform, its read policy verbatim
# (ECR pull/describe, lambda:GetFunction, ecs:DescribeTaskDefinition, lambda:TagResource when the hub's Lambda
# scanner tags).
locals {
  read_trust_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "HubScanners"
      Effect    = "Allow"
      Principal = { AWS = sort(distinct(var.hub.scanner_role_arns)) }
      Action    = "sts:AssumeRole"
      # With an organization, the scanners must also still belong to it (aws:PrincipalOrgID).
      Condition = {
        StringEquals = merge(
          { "sts:ExternalId" = var.hub.spoke_external_id },
          var.hub.organization_id == null ? {} : { "aws:PrincipalOrgID" = var.hub.organization_id },
        )
      }
    }]
  })
}

resource "aws_iam_role" "read" {
  count = var.create_read_role ? 1 : 0

  name                 = var.hub.spoke_role_name
  description          = "The qscan hub's scanners read this account's images, functions and task definitions"
  max_session_duration = 3600
  assume_role_policy   = local.read_trust_policy
  tags                 = local.tags
}

resource "aws_iam_role_policy" "read" {
  for_each = var.create_read_role ? var.hub.read_policy_jsons : {}

  name   = "${var.hub.spoke_role_name}-${replace(each.key, "_", "-")}"
  role   = aws_iam_role.read[0].id
  policy = each.value
}
