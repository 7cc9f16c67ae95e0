locals {
  kms_via_services = [
    for service in ["s3", "sns", "dynamodb", "secretsmanager", "lambda"] :
    "${service}.${local.region}.amazonaws.com"
  ]

  # What the workflow reads to find and scan the images: task definitions and ECR images of this account
  # (other accounts' with the assumed spoke role, see read_policy_json).
  read_statements = [
    {
      Sid      = "DescribeTaskDefinitions"
      Effect   = "Allow"
      Action   = "ecs:DescribeTaskDefinition"
      Resource = "*" # DescribeTaskDefinition has no resource-level permissions
    },
    {
      Sid      = "ReadDeployedImages"
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
  ]

  task_policy_statements = concat(
    [
      {
        Sid      = "OwnLogGroup"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${aws_cloudwatch_log_group.tasks.arn}:*"
      },
    ],
    var.enable_xray ? [
      {
        Sid      = "XRayTracing"
        Effect   = "Allow"
        Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        Resource = "*" # X-Ray has no resource-level permissions
      },
    ] : [],
    local.read_statements,
    [
      {
        Sid      = "DedupeClaims"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
        Resource = var.core.dedupe_table_arn
      },
      {
        # The results and raw scanner outputs of ECS images (qscan.results.keys: results/ecs/...).
        Sid      = "WriteResults"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:AbortMultipartUpload"]
        Resource = "${var.core.results_bucket_arn}/results/ecs/*"
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
    var.registry_credentials_secret_arn == null ? [] : [
      {
        Sid      = "ReadRegistryCredentials"
        Effect   = "Allow"
        Action   = "secretsmanager:GetSecretValue"
        Resource = var.registry_credentials_secret_arn
      },
    ],
    var.spoke_role_name == null ? [] : [
      # The spoke role of any account, but only of the organization when one is configured.
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
  )
}

# ------------------------------------------------------------------ task function
resource "aws_iam_role" "tasks" {
  name        = "${local.function_name}-${local.region}"
  description = "qscan Fargate workflow task functions"
  tags        = local.tags
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "tasks" {
  name   = "${local.function_name}-${local.region}-least-privilege"
  role   = aws_iam_role.tasks.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.task_policy_statements })
}

# ------------------------------------------------------------------ state machine
resource "aws_iam_role" "workflow" {
  name        = "${local.state_machine_name}-${local.region}"
  description = "qscan Fargate scan workflow (Step Functions)"
  tags        = local.tags
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "states.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "workflow" {
  name = "${local.state_machine_name}-${local.region}-least-privilege"
  role = aws_iam_role.workflow.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "InvokeTaskFunctions"
          Effect   = "Allow"
          Action   = "lambda:InvokeFunction"
          Resource = [aws_lambda_function.tasks.arn, "${aws_lambda_function.tasks.arn}:*"]
        },
        {
          # Step Functions log delivery: these actions have no resource-level permissions.
          Sid    = "DeliverExecutionLogs"
          Effect = "Allow"
          Action = [
            "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
          ]
          Resource = "*"
        },
      ],
      var.enable_xray ? [
        {
          Sid      = "XRayTracing"
          Effect   = "Allow"
          Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
          Resource = "*" # X-Ray has no resource-level permissions
        },
      ] : [],
    )
  })
}

# ------------------------------------------------------------------ EventBridge
resource "aws_iam_role" "events" {
  name        = "${var.name_prefix}-fargate-events-${local.region}"
  description = "EventBridge starts the qscan Fargate scan workflow"
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

resource "aws_iam_role_policy" "events" {
  name = "${var.name_prefix}-fargate-events-${local.region}-start-execution"
  role = aws_iam_role.events.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "StartScanWorkflow"
      Effect   = "Allow"
      Action   = "states:StartExecution"
      Resource = aws_sfn_state_machine.this.arn
    }]
  })
}

# What a cross-account read role in a spoke account must allow, so the task function (assuming it through
# spoke_role_name) can resolve the spoke's task definitions and read its ECR images. Output as read_policy_json.
data "aws_iam_policy_document" "read" {
  statement {
    sid       = "DescribeTaskDefinitions"
    actions   = ["ecs:DescribeTaskDefinition"]
    resources = ["*"] # DescribeTaskDefinition has no resource-level permissions
  }

  statement {
    sid       = "ReadDeployedImages"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages", "ecr:BatchCheckLayerAvailability"]
    resources = ["arn:${local.partition}:ecr:*:*:repository/*"]
  }

  statement {
    sid       = "EcrRegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource-level permissions
  }
}
