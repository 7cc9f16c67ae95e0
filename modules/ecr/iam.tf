# The ECR scanner's own statements; modules/aws-lambda-worker adds them to the role after the queue statements,
# next to the common ones (logs, X-Ray, queue, store, secret, KMS, spoke role, VPC; results under results/ecr/).
locals {
  # ECR read is limited to this account's repositories, and to the included ones when a filter is set: an IAM
  # `*` matches like the EventBridge wildcard, so the rendered patterns carry over one to one. That is all this
  # role pulls: a push event names the registry of the event's account, and images of another account (spokes
  # forwarding to a hub bus) are pulled with that account's assumed spoke role, never with this one (the
  # handler's scanner_env; contrast modules/lambda, whose functions may run images of another registry).
  ecr_repository_arns = [
    for pattern in(length(var.repository_include) > 0 ? var.repository_include : ["*"]) :
    "arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository/${pattern}"
  ]

  read_statements = [
    {
      Sid      = "ReadPushedImages"
      Effect   = "Allow"
      Action   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages", "ecr:BatchCheckLayerAvailability"]
      Resource = local.ecr_repository_arns
    },
    {
      Sid      = "EcrRegistryLogin"
      Effect   = "Allow"
      Action   = "ecr:GetAuthorizationToken"
      Resource = "*" # GetAuthorizationToken has no resource-level permissions
    },
  ]
}

# What a cross-account read role in a spoke account must allow, so the scanner (assuming it through
# spoke_role_name) can pull the spoke's pushed images: the same ECR reads as ReadPushedImages, in any account
# and region the events come from. Output as read_policy_json for the hub-spoke roots to attach.
data "aws_iam_policy_document" "read" {
  statement {
    sid       = "ReadPushedImages"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages", "ecr:BatchCheckLayerAvailability"]
    resources = [for pattern in(length(var.repository_include) > 0 ? var.repository_include : ["*"]) : "arn:${local.partition}:ecr:*:*:repository/${pattern}"]
  }

  statement {
    sid       = "EcrRegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource-level permissions
  }
}
