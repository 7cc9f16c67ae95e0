# The same modules as environments/aws-single-account, sized for a local moto server:
# no deletion protection, everything destroyable, the smallest function, no dashboard, and no SQS event
# source mapping (moto would try to run the function in Docker on every message; scripts/demo.py reads the
# queues and calls the handlers itself, the way Lambda's event source mapping would), and no CloudTrail
# trail. The Fargate workflow's state machine applies, but nothing runs its task function here: the demo does.

# The handler packages by manifest name (var.manifest_path's validation stops a plan without them).
module "artifacts" {
  source = "../../modules/artifact-manifest"

  manifest_path = var.manifest_path
  names         = ["aws-ecr", "aws-lambda", "aws-fargate", "aws-reconciler"]
}

locals {
  handler_artifacts = module.artifacts.handler_artifacts

  # LOCAL ONLY: moto delivers no CloudTrail events (the demo puts CloudTrail-shaped events on the bus itself),
  # so no trail is created; this placeholder ARN only satisfies the lambda and fargate modules' check that some
  # trail feeds the default bus. Never copy it into a real environment: there, modules/aws-trail or a real trail ARN is needed.
  local_placeholder_trail_arn = "arn:aws:cloudtrail:${var.region}:123456789012:trail/local-only-no-trail"
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

  name_prefix                        = var.name_prefix
  kms_key_deletion_window_days       = 7
  results_bucket_force_destroy       = true
  dedupe_table_deletion_protection   = false
  qualys_secret_recovery_window_days = 0
}

module "ecr" {
  source = "../../modules/ecr"

  name_prefix      = var.name_prefix
  core             = local.core
  handler_artifact = local.handler_artifacts["aws-ecr"]
  qscanner_path    = var.qscanner_path

  enable_cloudtrail_putimage  = true
  repository_include          = var.repository_include
  repository_exclude          = var.repository_exclude
  create_event_source_mapping = false
  max_receive_count           = var.max_receive_count
  # Retries in seconds, not minutes: the demo shows the backoff and the dead-lettering while you watch.
  retry_backoff      = { base_seconds = 1, max_seconds = 2 }
  severity_threshold = var.severity_threshold

  memory_size            = 128
  timeout                = 60
  ephemeral_storage_size = 512
  scanner_cache_max_mb   = 128 # at most a quarter of /tmp
  create_dashboard       = false
}

module "lambda" {
  source = "../../modules/lambda"

  name_prefix      = var.name_prefix
  core             = local.core
  handler_artifact = local.handler_artifacts["aws-lambda"]
  qscanner_path    = var.qscanner_path

  # qscan's own functions are never scanned, by exact name (as in aws-single-account).
  self_function_names         = [module.ecr.function_name, module.fargate.function_name]
  existing_trail_arn          = local.local_placeholder_trail_arn
  create_event_source_mapping = false
  max_receive_count           = var.max_receive_count
  # Retries in seconds, not minutes: the demo shows the backoff and the dead-lettering while you watch.
  retry_backoff      = { base_seconds = 1, max_seconds = 2 }
  severity_threshold = var.severity_threshold

  memory_size            = 128
  timeout                = 60
  ephemeral_storage_size = 512
  scanner_cache_max_mb   = 128 # at most a quarter of /tmp
  create_dashboard       = false
}

module "fargate" {
  source = "../../modules/fargate"

  name_prefix      = var.name_prefix
  core             = local.core
  handler_artifact = local.handler_artifacts["aws-fargate"]
  qscanner_path    = var.qscanner_path

  existing_trail_arn = local.local_placeholder_trail_arn
  severity_threshold = var.severity_threshold

  # Seconds, not minutes: the demo shows retries, polls and timeouts while you watch.
  retry                     = { interval_seconds = 1, max_attempts = 2, max_delay_seconds = 2 }
  poll_interval_seconds     = 1
  max_polls                 = 5
  task_timeout_seconds      = 30
  scan_timeout_seconds      = 60
  execution_timeout_seconds = 300

  memory_size      = 128
  create_dashboard = false
}

# The scheduled reconciler, off by default here (the schedule would invoke nothing on moto). The demo applies it
# (enable_reconciler = true, as aws-single-account does) and invokes the function once itself, as the schedule
# would: moto's Invoke reaches the real handler (scripts/demo_tasks.py).
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
  self_function_names = [module.ecr.function_name, module.lambda.function_name, module.fargate.function_name]
  memory_size         = 128
  timeout             = 120
  limits              = { max_seconds = 60 }
}
