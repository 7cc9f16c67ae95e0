# Every feature of the ECR scanner: selected repositories, the CloudTrail PutImage trigger as well, the qscanner
# layer published from a zip, alert e-mails, tuned concurrency and retries, and cross-account pulls through a
# spoke read role limited to the organization (attach module.ecr.read_policy_json to that role in each spoke).
provider "aws" {
  region = var.region

  default_tags {
    tags = { owner = "platform-security" }
  }
}

module "core" {
  source = "../../../aws-core"

  name_prefix           = "secscan"
  alert_email_addresses = var.alert_email_addresses
}

module "ecr" {
  source = "../.."

  name_prefix = "secscan"
  tags        = { cost-center = "security" }
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
  handler_artifact        = var.handler_artifact
  qscanner_layer_artifact = var.qscanner_layer_artifact

  repository_include         = ["prod-*", "platform/*"]
  enable_cloudtrail_putimage = true

  severity_threshold   = "CRITICAL"
  scan_types           = ["os", "sca"]
  maximum_concurrency  = 10
  max_receive_count    = 4
  retry_backoff        = { base_seconds = 120, max_seconds = 600 }
  scanner_cache_max_mb = 1024

  spoke_role_name   = "secscan-ecr-read"
  spoke_external_id = "secscan-hub"
  organization_id   = var.organization_id

  queue_age_alarm_seconds = 7200
}
