# The smallest Fargate/ECS scanner: the scan store (modules/aws-core), the account's management-events trail
# (modules/aws-trail: ECS calls reach EventBridge only while some trail records management events; one per
# account, shared with modules/lambda) and the Fargate module with the qscanner backend. In your own
# repository, source the modules from git (e.g. "git::https://<host>/qscan.git//modules/fargate?ref=<tag>").
provider "aws" {
  region = var.region
}

module "core" {
  source = "../../../aws-core"
}

module "trail" {
  source = "../../../aws-trail"

  name = "qscan-trail"
}

module "fargate" {
  source = "../.."

  # Only the outputs the module reads (passing module.core whole makes every resource wait for all of it).
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
  qscanner_layer_arn = var.qscanner_layer_arn
  existing_trail_arn = module.trail.trail_arn
}
