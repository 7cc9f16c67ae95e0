# qscan for one AWS account and region: the shared scan store (aws-core), the account's management-events trail
# (aws-trail, at most one, shared by every CloudTrail-driven scanner), ECR push scanning (ecr), Lambda
# deployment scanning (lambda), ECS/Fargate deployment scanning (fargate) and the scheduled reconciler
# (reconciler-aws, behind enable_reconciler).

# The handler packages by manifest name (placeholders before `make package`: var.manifest_path's validation
# stops a plan with a clear message, so they never reach AWS).
module "artifacts" {
  source = "../../modules/artifact-manifest"

  manifest_path = var.manifest_path
  names         = ["aws-ecr", "aws-lambda", "aws-fargate", "aws-reconciler"]
}

locals {
  handler_artifacts = module.artifacts.handler_artifacts

  # create_trail = null (the default): create a trail unless existing_trail_arn names one that already records
  # the account's write management events. CloudTrail calls reach EventBridge only while some trail does.
  create_trail = coalesce(var.create_trail, var.existing_trail_arn == null)

  # An explicit layer ARN wins over a layer built into the manifest.
  qscanner_layer_artifact = var.qscanner_layer_arn != null ? null : module.artifacts.qscanner_layer
}

# Only the outputs the ecr, lambda and fargate modules read: passing `module.core` whole would make every scanner
# resource wait for all of core (e.g. the bucket lifecycle configuration, which the provider polls for about a
# minute).
locals {
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

module "ecr" {
  source = "../../modules/ecr"

  name_prefix             = var.name_prefix
  core                    = local.core
  handler_artifact        = local.handler_artifacts["aws-ecr"]
  qscanner_layer_artifact = local.qscanner_layer_artifact
  qscanner_layer_arn      = var.qscanner_layer_arn

  repository_include         = var.repository_include
  repository_exclude         = var.repository_exclude
  enable_cloudtrail_putimage = var.enable_cloudtrail_putimage
  severity_threshold         = var.severity_threshold
  maximum_concurrency        = var.maximum_concurrency
  max_receive_count          = var.max_receive_count
  organization_id            = var.organization_id
}

# One trail per account and region for every scanner that listens to CloudTrail calls (Lambda and Fargate).
# Its name is the one it had when modules/lambda created it: renaming would replace the trail, bucket and key.
module "trail" {
  source = "../../modules/aws-trail"
  count  = local.create_trail ? 1 : 0

  name                 = "${var.name_prefix}-lambda-trail"
  multi_region         = var.trail_multi_region
  bucket_force_destroy = var.trail_bucket_force_destroy
}

locals {
  trail_arn = local.create_trail ? module.trail[0].trail_arn : var.existing_trail_arn
}

module "lambda" {
  source = "../../modules/lambda"

  name_prefix             = var.name_prefix
  core                    = local.core
  handler_artifact        = local.handler_artifacts["aws-lambda"]
  qscanner_layer_artifact = local.qscanner_layer_artifact
  qscanner_layer_arn      = var.qscanner_layer_arn

  existing_trail_arn = local.trail_arn

  bulk_scan_schedule_expression = var.lambda_bulk_scan_schedule_expression
  severity_threshold            = var.severity_threshold
  maximum_concurrency           = var.maximum_concurrency
  max_receive_count             = var.max_receive_count
  organization_id               = var.organization_id

  # qscan's own functions are never scanned, by exact name (the Lambda scanner is always included); customers'
  # functions that merely share name_prefix are scanned. (Not the reconciler's: its own list names this scanner,
  # and the two references would form a cycle; a scan of it costs one scan per code change.)
  self_function_names = [module.ecr.function_name, module.fargate.function_name]
}

module "fargate" {
  source = "../../modules/fargate"

  name_prefix      = var.name_prefix
  core             = local.core
  handler_artifact = local.handler_artifacts["aws-fargate"]
  # The qscanner layer the ECR scanner publishes from the manifest, or the explicit one.
  qscanner_layer_arn = var.qscanner_layer_arn != null ? var.qscanner_layer_arn : module.ecr.qscanner_layer_version_arn

  existing_trail_arn = local.trail_arn

  cluster_include    = var.fargate_cluster_include
  cluster_exclude    = var.fargate_cluster_exclude
  family_include     = var.fargate_family_include
  family_exclude     = var.fargate_family_exclude
  scanner_backend    = var.fargate_scanner_backend
  severity_threshold = var.severity_threshold
}

# The scheduled reconciler: what was pushed and what runs, requested into the scanners' own queues and workflow
# when the scan store has not seen it or saw it longer ago than the cache TTL (docs/reconciler.md).
module "reconciler" {
  source = "../../modules/reconciler-aws"
  count  = var.enable_reconciler ? 1 : 0

  name_prefix      = var.name_prefix
  core             = local.core
  handler_artifact = local.handler_artifacts["aws-reconciler"]
  destinations = {
    ecr_queue         = { url = module.ecr.queue_url, arn = module.ecr.queue_arn }
    lambda_queue      = { url = module.lambda.queue_url, arn = module.lambda.queue_arn }
    state_machine_arn = module.fargate.state_machine_arn
  }
  schedule_expression = var.reconciler_schedule_expression
  # qscan's own functions are never listed (the reconciler adds itself).
  self_function_names = [module.ecr.function_name, module.lambda.function_name, module.fargate.function_name]
}
