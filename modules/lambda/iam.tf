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

# What a cross-account read role in a spoke account must allow, so the scanner (assuming it through
# spoke_role_name) can scan the spoke's functions: read the function and its layers, pull the image of a
# container-image function, and (with enable_tagging) write the scan-result tags; in any account and region
# the events come from. Output as read_policy_json for the hub-spoke roots to attach.
data "aws_iam_policy_document" "read" {
  statement {
    sid       = "ReadDeployedFunctions"
    actions   = ["lambda:GetFunction", "lambda:GetFunctionConfiguration"]
    resources = ["arn:${local.partition}:lambda:*:*:function:*"]
  }

  statement {
    sid       = "ReadFunctionLayers"
    actions   = ["lambda:GetLayerVersion"]
    resources = ["arn:${local.partition}:lambda:*:*:layer:*:*"]
  }

  statement {
    sid       = "ReadFunctionImages"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages", "ecr:BatchCheckLayerAvailability"]
    resources = ["arn:${local.partition}:ecr:*:*:repository/*"]

    dynamic "condition" {
      for_each = var.organization_id == null ? [] : [var.organization_id]
      content {
        test     = "StringEquals"
        variable = "aws:ResourceOrgID"
        values   = [condition.value]
      }
    }
  }

  statement {
    sid       = "EcrRegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource-level permissions
  }

  dynamic "statement" {
    for_each = local.has_bulk_scan ? ["ListFunctionsForBulkScan"] : []
    content {
      sid       = statement.value
      actions   = ["lambda:ListFunctions"]
      resources = ["*"] # ListFunctions has no resource-level permissions
    }
  }

  dynamic "statement" {
    for_each = var.enable_tagging ? ["TagScannedFunctions"] : []
    content {
      sid       = statement.value
      actions   = ["lambda:TagResource"]
      resources = ["arn:${local.partition}:lambda:*:*:function:*"]

      condition {
        test     = "ForAllValues:StringEquals"
        variable = "aws:TagKeys"
        values   = local.scan_tag_keys
      }
      condition {
        test     = "Null"
        variable = "aws:TagKeys"
        values   = ["false"]
      }
    }
  }
}
