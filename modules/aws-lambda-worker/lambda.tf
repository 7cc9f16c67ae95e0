locals {
  handler_source_code_hash = (
    var.handler_artifact.source_code_hash != null ? var.handler_artifact.source_code_hash :
    var.handler_artifact.local_path != null ? filebase64sha256(var.handler_artifact.local_path) : null
  )
  layer_source_code_hash = (
    var.qscanner_layer_artifact == null ? null :
    var.qscanner_layer_artifact.source_code_hash != null ? var.qscanner_layer_artifact.source_code_hash :
    var.qscanner_layer_artifact.local_path != null ? filebase64sha256(var.qscanner_layer_artifact.local_path) : null
  )
}

resource "aws_lambda_layer_version" "qscanner" {
  count = var.qscanner_layer_artifact != null ? 1 : 0

  layer_name               = var.qscanner_layer_name
  description              = "Qualys qscanner (linux-amd64) at /opt/bin/qscanner"
  filename                 = var.qscanner_layer_artifact.local_path
  s3_bucket                = var.qscanner_layer_artifact.s3_bucket
  s3_key                   = var.qscanner_layer_artifact.s3_key
  s3_object_version        = var.qscanner_layer_artifact.s3_object_version
  source_code_hash         = local.layer_source_code_hash
  compatible_runtimes      = ["python3.12"]
  compatible_architectures = ["x86_64"]

  lifecycle {
    precondition {
      condition     = var.qscanner_layer_arn == null
      error_message = "Set qscanner_layer_artifact or qscanner_layer_arn, not both."
    }
  }
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.core.log_retention_days
  kms_key_id        = var.core.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:SQS-driven: failed messages go to the queue's redrive DLQ; a function DLQ only serves async invokes
  #checkov:skip=CKV_AWS_117:VPC attachment is opt-in through var.vpc_config; qscanner needs the scanned platform's APIs and the Qualys gateway
  #checkov:skip=CKV_AWS_115:concurrency is bounded by the event source mapping's maximum_concurrency; reserving is opt-in
  #checkov:skip=CKV_AWS_272:code signing is opt-in through var.code_signing_config_arn (needs a signing profile)
  function_name                  = local.function_name
  description                    = var.descriptions.function
  role                           = aws_iam_role.this.arn
  runtime                        = "python3.12"
  architectures                  = ["x86_64"] # qscanner ships for linux-amd64 only
  handler                        = var.handler
  filename                       = var.handler_artifact.local_path
  s3_bucket                      = var.handler_artifact.s3_bucket
  s3_key                         = var.handler_artifact.s3_key
  s3_object_version              = var.handler_artifact.s3_object_version
  source_code_hash               = local.handler_source_code_hash
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions != null ? var.reserved_concurrent_executions : -1
  layers                         = local.layer_arns
  kms_key_arn                    = var.core.kms_key_arn
  code_signing_config_arn        = var.code_signing_config_arn
  tags                           = var.tags

  ephemeral_storage {
    size = var.ephemeral_storage_size
  }

  tracing_config {
    mode = "Active"
  }

  environment {
    variables = local.function_environment
  }

  dynamic "vpc_config" {
    for_each = var.vpc_config == null ? [] : [var.vpc_config]
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  # The log group must exist first (with retention and KMS) or Lambda creates an unmanaged one.
  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]

  lifecycle {
    precondition {
      condition     = local.has_qscanner_layer || var.qscanner_path != null
      error_message = "Without qscanner_layer_artifact or qscanner_layer_arn nothing provides /opt/bin/qscanner: set qscanner_path to where the handler package carries qscanner."
    }
    precondition {
      condition     = length(local.layer_arns) <= 5
      error_message = "Lambda allows at most 5 layers (qscanner layer + additional_layer_arns)."
    }
    precondition {
      condition     = var.scanner_cache_max_mb * 4 <= var.ephemeral_storage_size
      error_message = "scanner_cache_max_mb must be at most a quarter of ephemeral_storage_size: the rest of /tmp holds the artifact being scanned."
    }
    precondition {
      condition     = local.scan_timeout_seconds <= var.timeout - 30
      error_message = "scan_timeout_seconds must be at most timeout - 30: the handler needs time to persist results and notify before Lambda stops it."
    }
    precondition {
      condition     = var.reserved_concurrent_executions == null || try(var.reserved_concurrent_executions >= var.maximum_concurrency, false)
      error_message = "reserved_concurrent_executions must be at least maximum_concurrency, or the queue trigger gets throttled."
    }
    precondition {
      condition     = var.spoke_external_id == null || var.spoke_role_name != null
      error_message = "spoke_external_id only makes sense with spoke_role_name."
    }
  }
}

resource "aws_lambda_event_source_mapping" "this" {
  count = var.create_event_source_mapping ? 1 : 0

  event_source_arn        = aws_sqs_queue.this.arn
  function_name           = aws_lambda_function.this.arn
  batch_size              = var.batch_size
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.maximum_concurrency
  }
}
