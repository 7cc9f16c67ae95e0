# The ECR scanner's own statements; modules/scan-worker adds them to the role after the queue statements,
# next to the common ones (logs, X-Ray, queue, store, secret, KMS, spoke role, VPC; results under results/ecr/).
locals {
  # ECR read is limited to this account's repositories, and to the included ones when a filter is set: an IAM
  # `*` matches like the EventBridge wildcard, so the rendered patterns carry over one to one.
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
