# The Lambda scanner's own statements; modules/aws-lambda-worker adds `read_statements` after the queue statements
# and `optional_statements` after the scan store statements, next to the common ones (logs, X-Ray, queue,
# store, secret, KMS, spoke role, VPC; results under results/lambda/).
locals {
  function_arn_pattern = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:*"

  read_statements = [
    {
      # GetFunction returns the code location qscanner downloads (zip) or the resolved image URI (image).
      Sid      = "ReadDeployedFunctions"
      Effect   = "Allow"
      Action   = ["lambda:GetFunction", "lambda:GetFunctionConfiguration"]
      Resource = local.function_arn_pattern
    },
    {
      # Layers may be shared from other accounts (vendor layers), but always live in the function's region.
      Sid      = "ReadFunctionLayers"
      Effect   = "Allow"
      Action   = "lambda:GetLayerVersion"
      Resource = "arn:${local.partition}:lambda:${local.region}:*:layer:*:*"
    },
    # Container-image functions are scanned as images, and a function's image may live in another account's
    # registry (a shared build account). qscanner pulls it with the credentials of the FUNCTION's account
    # (qscan.aws.queue_handler.scanner_env: this role for this account's functions, the assumed spoke role for
    # a spoke's), so this role may read any account's repository in this region (Lambda requires the image in
    # the function's region, and ReadDeployedFunctions covers only this region); with organization_id, only
    # repositories of the organization. The repository policy of the other account must also allow the pull.
    merge(
      {
        Sid      = "ReadFunctionImages"
        Effect   = "Allow"
        Action   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages", "ecr:BatchCheckLayerAvailability"]
        Resource = "arn:${local.partition}:ecr:${local.region}:*:repository/*"
      },
      { for key, value in { Condition = { StringEquals = { "aws:ResourceOrgID" = var.organization_id } } } : key => value if var.organization_id != null },
    ),
    {
      Sid      = "EcrRegistryLogin"
      Effect   = "Allow"
      Action   = "ecr:GetAuthorizationToken"
      Resource = "*" # GetAuthorizationToken has no resource-level permissions; the token covers every registry
    },
  ]

  optional_statements = concat(
    var.enable_tagging ? [
      {
        # Only the scan-result tags: ForAllValues rejects a request carrying any other key, and the Null check
        # keeps a request without tag keys from passing ForAllValues vacuously.
        Sid      = "TagScannedFunctions"
        Effect   = "Allow"
        Action   = "lambda:TagResource"
        Resource = local.function_arn_pattern
        Condition = {
          "ForAllValues:StringEquals" = { "aws:TagKeys" = local.scan_tag_keys }
          Null                        = { "aws:TagKeys" = "false" }
        }
      },
    ] : [],
    local.has_bulk_scan ? [
      {
        Sid      = "ListFunctionsForBulkScan"
        Effect   = "Allow"
        Action   = "lambda:ListFunctions"
        Resource = "*" # ListFunctions has no resource-level permissions
      },
      {
        # The bulk-scan request fans out into one scan request per function on the same queue.
        Sid      = "QueueBulkScanRequests"
        Effect   = "Allow"
        Action   = "sqs:SendMessage"
        Resource = module.worker.queue.arn
      },
    ] : [],
  )
}
