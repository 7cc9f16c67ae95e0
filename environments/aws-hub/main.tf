# The qscan hub (security account, home region): the scan store (aws-core), the hub bus (aws-hub) and the ECR,
# Lambda and Fargate scanners listening on it (event_bus_name) and assuming the spokes' read role. Spokes
# (environments/aws-spoke, in every member account and region) forward their platform events here; the hub
# scans nothing of its own account unless aws-spoke is applied in it too (create_read_role = false there).

# The handler packages by manifest name (placeholders before `make package`: var.manifest_path's validation
# stops a plan with a clear message, so they never reach AWS).
module "artifacts" {
  source = "../../modules/artifact-manifest"

  manifest_path = var.manifest_path
  names         = ["aws-ecr", "aws-lambda", "aws-fargate"]
}

locals {
  handler_artifacts = module.artifacts.handler_artifacts

  # An explicit layer ARN wins over a layer built into the manifest.
  qscanner_layer_artifact = var.qscanner_layer_arn != null ? null : module.artifacts.qscanner_layer

  # Only the core outputs the scanners read (see environments/aws-single-account).
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

  # The spoke contract's platform parts, straight from the platform modules: every spoke forwards these
  # patterns and its read role carries these policies.
  event_patterns = merge(
    { ecr_native = module.ecr.native_event_pattern },
    var.enable_cloudtrail_putimage ? { ecr_putimage = module.ecr.cloudtrail_event_pattern } : {},
    { lambda_deploy = module.lambda.event_pattern },
    { for key, pattern in module.fargate.event_patterns : "fargate_${key}" => pattern },
  )
  read_policy_jsons = {
    ecr     = module.ecr.read_policy_json
    lambda  = module.lambda.read_policy_json
    fargate = module.fargate.read_policy_json
  }
}

module "core" {
  source = "../../modules/aws-core"

  name_prefix               = var.name_prefix
  create_qualys_secret      = var.create_qualys_secret
  qualys_secret_arn         = var.qualys_secret_arn
  qualys_secret_kms_key_arn = var.qualys_secret_kms_key_arn
  alert_email_addresses     = var.alert_email_addresses
  log_retention_days        = var.log_retention_days
}

module "hub" {
  source = "../../modules/aws-hub"

  name_prefix       = var.name_prefix
  organization_id   = var.organization_id
  account_ids       = var.spoke_account_ids
  spoke_role_name   = var.spoke_role_name
  spoke_external_id = var.spoke_external_id
  scanner_role_arns = [module.ecr.role_arn, module.lambda.role_arn, module.fargate.role_arn]
  event_patterns    = local.event_patterns
  read_policy_jsons = local.read_policy_jsons
}

module "ecr" {
  source = "../../modules/ecr"

  name_prefix             = var.name_prefix
  core                    = local.core
  handler_artifact        = local.handler_artifacts["aws-ecr"]
  qscanner_layer_artifact = local.qscanner_layer_artifact
  qscanner_layer_arn      = var.qscanner_layer_arn

  event_bus_name    = module.hub.event_bus_name
  spoke_role_name   = module.hub.spoke_role_name
  spoke_external_id = module.hub.spoke_external_id
  organization_id   = module.hub.organization_id

  repository_include         = var.repository_include
  repository_exclude         = var.repository_exclude
  enable_cloudtrail_putimage = var.enable_cloudtrail_putimage
  severity_threshold         = var.severity_threshold
  maximum_concurrency        = var.maximum_concurrency
  max_receive_count          = var.max_receive_count
}

module "lambda" {
  source = "../../modules/lambda"

  name_prefix             = var.name_prefix
  core                    = local.core
  handler_artifact        = local.handler_artifacts["aws-lambda"]
  qscanner_layer_artifact = local.qscanner_layer_artifact
  qscanner_layer_arn      = var.qscanner_layer_arn

  # The hub bus carries the spokes' CloudTrail events: no trail in the hub.
  event_bus_name    = module.hub.event_bus_name
  spoke_role_name   = module.hub.spoke_role_name
  spoke_external_id = module.hub.spoke_external_id
  organization_id   = module.hub.organization_id

  enable_tagging      = var.lambda_enable_tagging
  severity_threshold  = var.severity_threshold
  maximum_concurrency = var.maximum_concurrency
  max_receive_count   = var.max_receive_count

  # qscan's own functions (of this account and region, when the hub account forwards its own events) are never
  # scanned, by exact name.
  self_function_names = [module.ecr.function_name, module.fargate.function_name]
}

module "fargate" {
  source = "../../modules/fargate"

  name_prefix        = var.name_prefix
  core               = local.core
  handler_artifact   = local.handler_artifacts["aws-fargate"]
  qscanner_layer_arn = var.qscanner_layer_arn != null ? var.qscanner_layer_arn : module.ecr.qscanner_layer_version_arn

  event_bus_name    = module.hub.event_bus_name
  spoke_role_name   = module.hub.spoke_role_name
  spoke_external_id = module.hub.spoke_external_id
  organization_id   = module.hub.organization_id

  cluster_include    = var.fargate_cluster_include
  cluster_exclude    = var.fargate_cluster_exclude
  family_include     = var.fargate_family_include
  family_exclude     = var.fargate_family_exclude
  scanner_backend    = var.fargate_scanner_backend
  severity_threshold = var.severity_threshold
}
