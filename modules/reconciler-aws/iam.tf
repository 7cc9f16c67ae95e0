locals {
  kms_via_services = [for service in ["s3", "sqs", "dynamodb"] : "${service}.${local.region}.${local.dns_suffix}"]
  bucket_arn       = var.core.results_bucket_arn

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
        Sid      = "ListWithoutResourceTypes"
        Effect   = "Allow"
        Action   = ["ecs:ListClusters", "lambda:ListFunctions"]
        Resource = "*" # neither action supports resource-level permissions
      },
      {
        Sid      = "ReadEcrImages"
        Effect   = "Allow"
        Action   = ["ecr:DescribeRepositories", "ecr:DescribeImages", "ecr:BatchGetImage"]
        Resource = "arn:${local.partition}:ecr:*:${local.account_id}:repository/*"
      },
      {
        Sid      = "ReadRunningTasks"
        Effect   = "Allow"
        Action   = ["ecs:ListTasks", "ecs:DescribeTasks"]
        Resource = ["arn:${local.partition}:ecs:*:${local.account_id}:container-instance/*", "arn:${local.partition}:ecs:*:${local.account_id}:task/*"]
      },
      {
        Sid      = "ReadFunctions"
        Effect   = "Allow"
        Action   = ["lambda:GetFunction"]
        Resource = "arn:${local.partition}:lambda:*:${local.account_id}:function:*"
      },
      {
        Sid      = "DedupeLookupsAndMarkers"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
        Resource = var.core.dedupe_table_arn
      },
      {
        Sid      = "InventorySnapshots"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject"]
        Resource = "${local.bucket_arn}/inventory/aws/*"
      },
      {
        # Without ListBucket S3 answers a missing snapshot (the first run) with 403 instead of 404.
        Sid       = "InventoryMissingIsNotFound"
        Effect    = "Allow"
        Action    = ["s3:ListBucket"]
        Resource  = local.bucket_arn
        Condition = { StringLike = { "s3:prefix" = ["inventory/aws/*"] } }
      },
      {
        Sid       = "UseStoreKeysThroughServices"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = var.core.decrypt_kms_key_arns
        Condition = { StringEquals = { "kms:ViaService" = local.kms_via_services } }
      },
    ],
    length(local.queue_arns) == 0 ? [] : [{
      Sid      = "SendScanRequests"
      Effect   = "Allow"
      Action   = ["sqs:SendMessage"]
      Resource = local.queue_arns
    }],
    contains(local.services, "ecs") && var.destinations.state_machine_arn != null ? [{
      Sid      = "StartFargateScans"
      Effect   = "Allow"
      Action   = ["states:StartExecution"]
      Resource = var.destinations.state_machine_arn
    }] : [],
    var.spoke_role_name == null ? [] : [{
      Sid      = "AssumeSpokeReadRole"
      Effect   = "Allow"
      Action   = ["sts:AssumeRole"]
      Resource = [for account in var.accounts : "arn:${local.partition}:iam::${account}:role/${var.spoke_role_name}"]
    }],
  )
}

resource "aws_iam_role" "this" {
  name        = local.role_name
  description = "qscan reconciler (${local.region})"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "lambda.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
  tags = local.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "${local.role_name}-least-privilege"
  role   = aws_iam_role.this.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.policy_statements })
}
