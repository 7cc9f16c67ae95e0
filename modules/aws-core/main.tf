data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # S3 bucket names are global: account and region keep two deployments apart (<= 56 characters).
  results_bucket_name = "${var.name_prefix}-results-${local.account_id}-${local.region}"
  dedupe_table_name   = "${var.name_prefix}-dedupe"
  alert_topic_name    = "${var.name_prefix}-alerts"
  qualys_secret_name  = "${var.name_prefix}/qualys-access-token"

  qualys_secret_arn = var.create_qualys_secret ? aws_secretsmanager_secret.qualys[0].arn : var.qualys_secret_arn

  tags = merge(var.tags, { "qscan:component" = "aws-core" })
}
