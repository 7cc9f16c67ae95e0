# The platform inputs: what every AWS platform module takes (the scan store `core`, `tags`, the alert
# `severity_threshold` and the EMF `metrics_namespace`), declared once (type, description, validation). This
# file is the source in modules/aws-lambda-worker; each module that reads `var.core` (modules/ecr,
# modules/lambda, modules/fargate, modules/reconciler-aws) carries a byte-identical copy: `make docs` writes the
# copies, `make conventions` fails when one differs or is missing, or when a `module "worker"` call leaves one
# of these out. Edit modules/aws-lambda-worker/platform_inputs.tf only.
# The shared validation tests: modules/aws-lambda-worker/tests/platform_inputs.tftest.hcl, which
# `make tf-test` runs in every module that carries this file.

variable "tags" {
  description = "Tags added to every resource this module creates."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "core" {
  description = "The scan store from modules/aws-core: an object of its outputs with these names (build it from the outputs; passing `module.core` whole works but makes every scanner resource wait for all of core)."
  type = object({
    kms_key_arn          = string
    results_bucket_arn   = string
    dedupe_table_arn     = string
    alert_topic_arn      = string
    qualys_secret_arn    = string
    log_retention_days   = number
    decrypt_kms_key_arns = list(string)
    handler_environment  = map(string)
  })
  nullable = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.core.kms_key_arn))
    error_message = "core.kms_key_arn must be a KMS key ARN."
  }
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]+$", var.core.results_bucket_arn))
    error_message = "core.results_bucket_arn must be an S3 bucket ARN."
  }
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/", var.core.dedupe_table_arn))
    error_message = "core.dedupe_table_arn must be a DynamoDB table ARN."
  }
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:", var.core.alert_topic_arn))
    error_message = "core.alert_topic_arn must be an SNS topic ARN."
  }
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:", var.core.qualys_secret_arn))
    error_message = "core.qualys_secret_arn must be a Secrets Manager secret ARN."
  }
  validation {
    condition     = alltrue([for k in ["QSCAN_DEDUPE_TABLE", "QSCAN_RESULTS_BUCKET", "QSCAN_RESULTS_KMS_KEY_ID", "QSCAN_ALERT_TOPIC_ARN", "QSCAN_QUALYS_SECRET_ARN"] : contains(keys(var.core.handler_environment), k)])
    error_message = "core.handler_environment must hold QSCAN_DEDUPE_TABLE, QSCAN_RESULTS_BUCKET, QSCAN_RESULTS_KMS_KEY_ID, QSCAN_ALERT_TOPIC_ARN and QSCAN_QUALYS_SECRET_ARN (use the aws-core output)."
  }
}

variable "severity_threshold" {
  description = "Lowest finding severity that sends an alert (QSCAN_SEVERITY_THRESHOLD): CRITICAL, HIGH, MEDIUM, LOW, or NONE (findings never alert; failed scans and policy denials always do). Case-insensitive; passed on upper-case."
  type        = string
  default     = "HIGH"
  nullable    = false

  validation {
    condition     = contains(["CRITICAL", "HIGH", "MEDIUM", "LOW", "NONE"], upper(var.severity_threshold))
    error_message = "severity_threshold must be one of CRITICAL, HIGH, MEDIUM, LOW, NONE."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the handler's EMF metrics (QSCAN_METRICS_NAMESPACE); the dashboards and alarms read it."
  type        = string
  default     = "qscan"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be 1-255 characters of letters, digits and . _ / # : - and must not start with AWS/."
  }
}
