locals {
  function_arn_pattern = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:*"

  kms_via_services = [
    for service in ["s3", "sqs", "sns", "dynamodb", "secretsmanager", "lambda"] :
    "${service}.${local.region}.${local.dns_suffix}"
  ]

  policy_statements = concat(
    [
      {
        Sid      = "OwnLogGroup"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${aws_cloudwatch_log_group.this.arn}:*"
      },
      {
        Sid      = "XRayTracing"
        Effect   = "Allow"
        Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        Resource = "*" # X-Ray has no resource-level permissions
      },
      {
        Sid      = "ConsumeScanQueue"
        Effect   = "Allow"
        Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
        Resource = aws_sqs_queue.this.arn
      },
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
      {
        # Container-image functions are scanned as images from this account's registry.
        Sid      = "ReadFunctionImages"
        Effect   = "Allow"
        Action   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages", "ecr:BatchCheckLayerAvailability"]
        Resource = "arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository/*"
      },
      {
        Sid      = "EcrRegistryLogin"
        Effect   = "Allow"
        Action   = "ecr:GetAuthorizationToken"
        Resource = "*" # GetAuthorizationToken has no resource-level permissions
      },
      {
        Sid      = "DedupeClaims"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
        Resource = var.core.dedupe_table_arn
      },
      {
        Sid      = "WriteResults"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:AbortMultipartUpload"]
        Resource = "${var.core.results_bucket_arn}/${local.results_prefix}*"
      },
      {
        Sid      = "PublishAlerts"
        Effect   = "Allow"
        Action   = "sns:Publish"
        Resource = var.core.alert_topic_arn
      },
      {
        Sid      = "ReadQualysToken"
        Effect   = "Allow"
        Action   = "secretsmanager:GetSecretValue"
        Resource = var.core.qualys_secret_arn
      },
      {
        Sid       = "UseStoreKeysThroughServices"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = var.core.decrypt_kms_key_arns
        Condition = { StringEquals = { "kms:ViaService" = local.kms_via_services } }
      },
    ],
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
        Resource = aws_sqs_queue.this.arn
      },
    ] : [],
    var.spoke_role_name == null ? [] : [
      {
        Sid      = "AssumeSpokeReadRole"
        Effect   = "Allow"
        Action   = "sts:AssumeRole"
        Resource = "arn:${local.partition}:iam::*:role/${var.spoke_role_name}"
      },
    ],
    var.vpc_config == null ? [] : [
      {
        Sid      = "VpcNetworkInterfaces"
        Effect   = "Allow"
        Action   = ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
        Resource = "*" # Lambda creates the ENIs before their IDs exist
      },
    ],
  )
}

resource "aws_iam_role" "this" {
  name        = local.role_name
  description = "qscan Lambda function scanner (${local.region})"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = local.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "${local.role_name}-least-privilege"
  role   = aws_iam_role.this.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.policy_statements })
}
