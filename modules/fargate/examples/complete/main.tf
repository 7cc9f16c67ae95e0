# Every feature of the Fargate scanner: the organization trail instead of a new one, the Qualys registry-sensor
# backend with bounded polling, cluster and family filters, full execution logs with X-Ray, and a spoke read
# role for task definitions and images of other accounts (attach read_policy_json to it in each spoke).
provider "aws" {
  region = var.region
}

module "core" {
  source = "../../../aws-core"

  name_prefix = var.name_prefix
}

module "fargate" {
  source = "../.."

  name_prefix = var.name_prefix
  core = {
    kms_key_arn          = module.core.kms_key_arn
    results_bucket_arn   = module.core.results_bucket_arn
    dedupe_table_arn     = module.core.dedupe_table_arn
    alert_topic_arn      = module.core.alert_topic_arn
    qualys_secret_arn    = module.core.qualys_secret_arn
    log_retention_days   = module.core.log_retention_days
    decrypt_kms_key_arns = module.core.decrypt_kms_key_arns
    handler_environment  = module.core.handler_environment
  }
  handler_artifact   = { local_path = var.handler_zip, source_code_hash = var.handler_zip_sha256 }
  existing_trail_arn = var.organization_trail_arn

  scanner_backend       = "qualys-api"
  max_polls             = 40
  poll_interval_seconds = 30
  max_concurrency       = 2
  cluster_exclude       = ["sandbox-*"]
  family_exclude        = ["experiment-*"]
  workflow_log_level    = "ALL"
  enable_xray           = true
  severity_threshold    = "CRITICAL"
  spoke_role_name       = var.spoke_role_name
  spoke_external_id     = var.spoke_external_id
  tags                  = { team = "platform-security" }
}
