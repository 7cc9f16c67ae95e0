# The worker settings: every input of modules/aws-lambda-worker that a platform module passes through
# unchanged, declared once (type, default, description, validation); `core`, `tags` and what every AWS
# platform module takes are in platform_inputs.tf. This file is the source in
# modules/aws-lambda-worker; each module that calls it as `module "worker"` (modules/ecr, modules/lambda)
# carries a byte-identical copy: `make docs` writes the copies, `make conventions` fails when one differs or
# when the `module "worker"` call leaves a setting out. Edit modules/aws-lambda-worker/worker_settings.tf only.
# The shared validation tests: modules/aws-lambda-worker/tests/worker_settings.tftest.hcl, which `make tf-test`
# runs in every module that carries this file.

# ------------------------------------------------------------------ naming
variable "name_prefix" {
  description = "Prefix of every resource name; IAM and other global names add the region after it."
  type        = string
  default     = "qscan"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-20 characters of lower-case letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

# ------------------------------------------------------------------ queue
variable "max_receive_count" {
  description = "Deliveries of a scan message before it moves to the dead-letter queue."
  type        = number
  default     = 3

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number from 1 to 1000."
  }
}

variable "queue_message_retention_seconds" {
  description = "How long an unprocessed event stays in the scan queue (the dead-letter queue keeps 14 days); at least the retry horizon plus the dedupe lease (scan timeout + 120 s), or the plan fails."
  type        = number
  default     = 345600

  validation {
    condition     = var.queue_message_retention_seconds >= 60 && var.queue_message_retention_seconds <= 1209600
    error_message = "queue_message_retention_seconds must be from 60 to 1209600 (14 days)."
  }
}

variable "retry_backoff" {
  description = "How soon a failed scan is retried: the handler makes the message visible again after min(base_seconds x 2^(attempt-1), max_seconds) seconds (1, 2, 4 ... minutes at defaults) instead of after the queue's visibility timeout (6x timeout). The queue-age alarm and the retention must cover the resulting retry horizon (max_receive_count x timeout + the backoffs)."
  type = object({
    base_seconds = optional(number, 60)
    max_seconds  = optional(number, 900)
  })
  default  = {}
  nullable = false

  validation {
    condition = (
      floor(var.retry_backoff.base_seconds) == var.retry_backoff.base_seconds && floor(var.retry_backoff.max_seconds) == var.retry_backoff.max_seconds &&
      var.retry_backoff.base_seconds >= 0 && var.retry_backoff.max_seconds >= var.retry_backoff.base_seconds && var.retry_backoff.max_seconds <= 43200
    )
    error_message = "retry_backoff needs whole seconds with 0 <= base_seconds <= max_seconds <= 43200 (the SQS visibility limit)."
  }
}

# ------------------------------------------------------------------ scanner function
variable "handler_artifact" {
  description = "The handler package (the platform's zip from `make package`, listed in dist/manifest.json): either `local_path` (source_code_hash optional, computed from the file) or `s3_bucket` + `s3_key` (+ optional `s3_object_version`, `source_code_hash` to force updates)."
  type = object({
    local_path        = optional(string)
    source_code_hash  = optional(string)
    s3_bucket         = optional(string)
    s3_key            = optional(string)
    s3_object_version = optional(string)
  })
  nullable = false

  validation {
    condition = (
      (var.handler_artifact.local_path != null && var.handler_artifact.s3_bucket == null && var.handler_artifact.s3_key == null && var.handler_artifact.s3_object_version == null) ||
      (var.handler_artifact.local_path == null && var.handler_artifact.s3_bucket != null && var.handler_artifact.s3_key != null)
    )
    error_message = "handler_artifact needs exactly one source: local_path, or s3_bucket together with s3_key (s3_object_version only with S3)."
  }
  validation {
    condition     = var.handler_artifact.local_path == null || can(regex("\\.zip$", var.handler_artifact.local_path))
    error_message = "handler_artifact.local_path must point to a .zip file."
  }
  validation {
    condition     = var.handler_artifact.source_code_hash == null || can(regex("^[A-Za-z0-9+/]{43}=$", var.handler_artifact.source_code_hash))
    error_message = "handler_artifact.source_code_hash must be the base64-encoded SHA-256 of the zip (filebase64sha256)."
  }
}

variable "handler" {
  description = "Python entry point of the handler package."
  type        = string
  default     = "handler.lambda_handler"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_.]*\\.[A-Za-z_][A-Za-z0-9_]*$", var.handler))
    error_message = "handler must look like module.function, e.g. handler.lambda_handler."
  }
}

variable "qscanner_layer_artifact" {
  description = "A zip with qscanner at bin/qscanner (so /opt/bin/qscanner), published as a layer by this module. Same shape as handler_artifact. Mutually exclusive with qscanner_layer_arn."
  type = object({
    local_path        = optional(string)
    source_code_hash  = optional(string)
    s3_bucket         = optional(string)
    s3_key            = optional(string)
    s3_object_version = optional(string)
  })
  default = null

  validation {
    condition = var.qscanner_layer_artifact == null || try(
      (var.qscanner_layer_artifact.local_path != null && var.qscanner_layer_artifact.s3_bucket == null && var.qscanner_layer_artifact.s3_key == null && var.qscanner_layer_artifact.s3_object_version == null) ||
      (var.qscanner_layer_artifact.local_path == null && var.qscanner_layer_artifact.s3_bucket != null && var.qscanner_layer_artifact.s3_key != null),
      false
    )
    error_message = "qscanner_layer_artifact needs exactly one source: local_path, or s3_bucket together with s3_key."
  }
  validation {
    condition     = try(var.qscanner_layer_artifact.local_path == null, true) || can(regex("\\.zip$", var.qscanner_layer_artifact.local_path))
    error_message = "qscanner_layer_artifact.local_path must point to a .zip file."
  }
  validation {
    condition     = try(var.qscanner_layer_artifact.source_code_hash == null, true) || can(regex("^[A-Za-z0-9+/]{43}=$", var.qscanner_layer_artifact.source_code_hash))
    error_message = "qscanner_layer_artifact.source_code_hash must be the base64-encoded SHA-256 of the zip."
  }
}

variable "qscanner_layer_arn" {
  description = "ARN (with version) of an existing layer that provides qscanner. Mutually exclusive with qscanner_layer_artifact."
  type        = string
  default     = null

  validation {
    condition     = var.qscanner_layer_arn == null || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", var.qscanner_layer_arn))
    error_message = "qscanner_layer_arn must be a versioned layer ARN (arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>)."
  }
}

variable "additional_layer_arns" {
  description = "Further versioned layer ARNs to attach (at most 5 layers in total, the qscanner layer included)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for arn in var.additional_layer_arns : can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", arn))])
    error_message = "additional_layer_arns entries must be versioned layer ARNs."
  }
}

variable "qscanner_path" {
  description = "Absolute path of the qscanner executable in the function. null: /opt/bin/qscanner from the qscanner layer. Required when no qscanner layer is given (e.g. the binary ships in the handler zip: /var/task/bin/qscanner)."
  type        = string
  default     = null

  validation {
    condition     = var.qscanner_path == null || can(regex("^/[^\\s]*[^/\\s]$", var.qscanner_path))
    error_message = "qscanner_path must be an absolute file path without spaces."
  }
}

variable "memory_size" {
  description = "Function memory in MB (qscanner unpacks images and function code: give it room)."
  type        = number
  default     = 3008

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB from 128 to 10240."
  }
}

variable "timeout" {
  description = "Function timeout in seconds; the queue visibility timeout is derived as 6x this."
  type        = number
  default     = 900

  validation {
    condition     = var.timeout >= 60 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds from 60 to 900."
  }
}

variable "ephemeral_storage_size" {
  description = "Size of /tmp in MB (image layers, function code and the qscanner cache live there; see scanner_cache_max_mb)."
  type        = number
  default     = 10240

  validation {
    condition     = var.ephemeral_storage_size >= 512 && var.ephemeral_storage_size <= 10240 && floor(var.ephemeral_storage_size) == var.ephemeral_storage_size
    error_message = "ephemeral_storage_size must be a whole number of MB from 512 to 10240."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency of the function; null leaves it unreserved (maximum_concurrency still bounds the scans). When set, it must be at least maximum_concurrency."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null || try(var.reserved_concurrent_executions >= 1 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions, false)
    error_message = "reserved_concurrent_executions must be null or a whole number of at least 1."
  }
}

variable "maximum_concurrency" {
  description = "Most concurrent scans the queue trigger starts (Qualys limits concurrency and qscanner is heavy)."
  type        = number
  default     = 5

  validation {
    condition     = var.maximum_concurrency >= 2 && var.maximum_concurrency <= 1000 && floor(var.maximum_concurrency) == var.maximum_concurrency
    error_message = "maximum_concurrency must be a whole number from 2 to 1000 (the SQS event source mapping limits)."
  }
}

variable "create_event_source_mapping" {
  description = "Connect the scan queue to the function (SQS event source mapping). Switch off only where something else consumes the queue, e.g. environments/local on moto, which cannot run Lambda functions without Docker: there scripts/demo.py drives the handler over the queue itself."
  type        = bool
  default     = true
}

variable "batch_size" {
  description = "Events per invocation; 1 because a scan can take minutes (failures are reported per item)."
  type        = number
  default     = 1

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10 && floor(var.batch_size) == var.batch_size
    error_message = "batch_size must be a whole number from 1 to 10 (larger batches need a batching window)."
  }
}

variable "vpc_config" {
  description = "Run the function in these subnets and security groups (they need egress to the scanned platform's APIs, ECR, S3 and the Qualys gateway). null runs it outside a VPC."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null

  validation {
    condition     = var.vpc_config == null || try(length(var.vpc_config.subnet_ids) > 0 && length(var.vpc_config.security_group_ids) > 0, false)
    error_message = "vpc_config needs at least one subnet and one security group."
  }
}

variable "code_signing_config_arn" {
  description = "Lambda code signing configuration to enforce on the handler package; null for none."
  type        = string
  default     = null

  validation {
    condition     = var.code_signing_config_arn == null || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:code-signing-config:csc-[a-z0-9]{17}$", var.code_signing_config_arn))
    error_message = "code_signing_config_arn must be a Lambda code signing config ARN."
  }
}

variable "environment_variables" {
  description = "Extra environment variables for the function; the module's own settings win on a name clash."
  type        = map(string)
  default     = {}
  nullable    = false
}

# ------------------------------------------------------------------ scan settings
variable "scan_types" {
  description = "qscanner scan types (QSCAN_SCAN_TYPES, comma-joined)."
  type        = list(string)
  default     = ["os", "sca", "secret"]
  nullable    = false

  validation {
    condition     = length(var.scan_types) > 0 && alltrue([for t in var.scan_types : contains(["pkg", "os", "sca", "secret"], t)]) && length(distinct(var.scan_types)) == length(var.scan_types)
    error_message = "scan_types must be a non-empty list of distinct values from pkg, os, sca, secret."
  }
}

variable "sbom_format" {
  description = "SBOM qscanner writes beside each result (QSCAN_SBOM_FORMAT): off, spdx or cyclonedx."
  type        = string
  default     = "off"
  nullable    = false

  validation {
    condition     = contains(["off", "spdx", "cyclonedx"], var.sbom_format)
    error_message = "sbom_format must be off, spdx or cyclonedx."
  }
}

variable "scan_timeout_seconds" {
  description = "qscanner's own timeout (QSCAN_SCAN_TIMEOUT_SECONDS). null: 80% of the function timeout, leaving at least 30 s to persist and notify. Must be at most timeout - 30."
  type        = number
  default     = null

  validation {
    condition     = var.scan_timeout_seconds == null || try(var.scan_timeout_seconds >= 30 && floor(var.scan_timeout_seconds) == var.scan_timeout_seconds, false)
    error_message = "scan_timeout_seconds must be null or a whole number of at least 30."
  }
}

variable "scanner_cache_max_mb" {
  description = "Cap of qscanner's cache directory in /tmp in MB (QSCAN_SCANNER_CACHE_MAX_MB), pruned oldest first before each scan; 0 keeps no cache. At most a quarter of ephemeral_storage_size (the rest holds the artifact being scanned), or the plan fails."
  type        = number
  default     = 2048

  validation {
    condition     = var.scanner_cache_max_mb >= 0 && var.scanner_cache_max_mb <= 102400 && floor(var.scanner_cache_max_mb) == var.scanner_cache_max_mb
    error_message = "scanner_cache_max_mb must be a whole number of MB from 0 to 102400."
  }
}

variable "spoke_role_name" {
  description = "Name of the read role in spoke accounts the scanner assumes for cross-account artifacts (QSCAN_SPOKE_ROLE_NAME); null: no cross-account access."
  type        = string
  default     = null

  validation {
    condition     = var.spoke_role_name == null || can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.spoke_role_name))
    error_message = "spoke_role_name must be an IAM role name (1-64 characters of letters, digits and +=,.@_-)."
  }
}

variable "spoke_external_id" {
  description = "ExternalId for assuming the spoke role (QSCAN_SPOKE_EXTERNAL_ID); only with spoke_role_name."
  type        = string
  default     = null

  validation {
    condition     = var.spoke_external_id == null || try(length(var.spoke_external_id) >= 2 && length(var.spoke_external_id) <= 1224 && can(regex("^[A-Za-z0-9+=,.@:/_-]+$", var.spoke_external_id)), false)
    error_message = "spoke_external_id must be 2-1224 characters of letters, digits and +=,.@:/_-."
  }
}

variable "organization_id" {
  description = "AWS Organizations id (o-...) of the accounts the scanner reads: when set, sts:AssumeRole on the spoke role (and, in modules/lambda, the ECR image pulls of container-image functions) is limited to resources of this organization (aws:ResourceOrgID). null: no organization condition."
  type        = string
  default     = null

  validation {
    condition     = var.organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))
    error_message = "organization_id must be null or an AWS Organizations id such as o-a1b2c3d4e5."
  }
}

variable "log_level" {
  description = "Handler log level (QSCAN_LOG_LEVEL)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

# ------------------------------------------------------------------ observability
variable "queue_age_alarm_seconds" {
  description = "Alarm when the oldest waiting event is older than this many seconds; must be above the retry horizon (max_receive_count x timeout + the retry backoffs, 3120 s at defaults), or one retrying message fires it (the plan fails with the horizon)."
  type        = number
  default     = 3600

  validation {
    condition     = var.queue_age_alarm_seconds >= 60
    error_message = "queue_age_alarm_seconds must be at least 60."
  }
}

variable "create_dashboard" {
  description = "Create the CloudWatch dashboard (modules/aws-dashboard: scans, findings by severity and per account, the scanner's own health)."
  type        = bool
  default     = true
  nullable    = false
}
