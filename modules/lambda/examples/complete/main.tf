# Every feature of the Lambda scanner: the organization trail instead of a new one, a daily bulk scan of every
# function, scan-result tags on the functions, qscan's other scanners skipped by exact name, and a spoke read
# role limited to the organization (attach module.lambda.read_policy_json to that role in each spoke).
provider "aws" {
  region = var.region
}

module "core" {
  source = "../../../aws-core"

  name_prefix = "secscan"
}

module "lambda" {
  source = "../.."

  name_prefix = "secscan"
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
  handler_artifact   = var.handler_artifact
  qscanner_layer_arn = var.qscanner_layer_arn

  existing_trail_arn            = var.organization_trail_arn
  bulk_scan_schedule_expression = "rate(1 day)"
  enable_tagging                = true
  self_function_names           = var.other_qscan_function_names

  severity_threshold  = "HIGH"
  scan_types          = ["pkg", "sca", "secret"]
  maximum_concurrency = 4
  memory_size         = 4096
  timeout             = 600

  spoke_role_name   = "secscan-lambda-read"
  spoke_external_id = "secscan-hub"
  organization_id   = var.organization_id
}
