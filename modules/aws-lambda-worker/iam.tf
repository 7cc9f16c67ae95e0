locals {
  kms_via_services = [
    for service in ["s3", "sqs", "sns", "dynamodb", "secretsmanager", "lambda"] :
    "${service}.${local.region}.${local.dns_suffix}"
  ]

  # Order: own logs and queue, what the platform reads to scan, the scan store, the platform's optional
  # grants, then cross-account and VPC access.
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
    ],
    jsondecode(var.platform_policy_statements.read),
    [
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
    jsondecode(var.platform_policy_statements.optional),
    # The spoke role of any account, but only of the organization when one is configured (aws:ResourceOrgID is
    # the organization of the account that owns the role): a role of that name elsewhere is never assumed.
    var.spoke_role_name == null ? [] : [
      merge(
        {
          Sid      = "AssumeSpokeReadRole"
          Effect   = "Allow"
          Action   = "sts:AssumeRole"
          Resource = "arn:${local.partition}:iam::*:role/${var.spoke_role_name}"
        },
        { for key, value in { Condition = { StringEquals = { "aws:ResourceOrgID" = var.organization_id } } } : key => value if var.organization_id != null },
      ),
    ],
    var.vpc_config == null ? [] : [
      {
        Sid      = "VpcNetworkInterfaces"
        Effect   = "Allow"
        Action   = ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
        Resource = "*" # Lambda creates the ENIs before their IDs exist
      },
    ],
    [
      {
        # qscan.aws.sqs_retry: deferred records go back to the scan queue as copies (no receive spent), finally
        # or deterministically failed ones to the DLQ with their reason.
        Sid      = "RequeueAndDeadLetter"
        Effect   = "Allow"
        Action   = "sqs:SendMessage"
        Resource = [aws_sqs_queue.this.arn, aws_sqs_queue.dlq.arn]
      },
    ],
  )
}

resource "aws_iam_role" "this" {
  name        = local.role_name
  description = "${var.descriptions.role} (${local.region})"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "${local.role_name}-least-privilege"
  role   = aws_iam_role.this.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.policy_statements })
}
