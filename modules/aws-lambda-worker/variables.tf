# Internal building block: the platform modules (modules/ecr, modules/lambda) validate every value before it
# arrives here, so only what this module itself adds is validated.

# ------------------------------------------------------------------ identity
variable "name_prefix" {
  description = "Prefix of every resource name (validated by the platform module)."
  type        = string
}

variable "platform" {
  description = "The scanned platform (`ecr`, `lambda`, ...): names (`<name_prefix>-<platform>-scanner`, ...), the EMF `service` dimension and the results prefix `results/<platform>/` follow it."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,15}$", var.platform))
    error_message = "platform must be 2-16 lower-case letters and digits, starting with a letter."
  }
}

variable "descriptions" {
  description = "Texts that name the platform: `title` (alarm descriptions: \"qscan <title> scanner ...\"), `function` (function description), `role` (role description, the region is appended), `dead_letters` (what lands in the DLQ, e.g. \"Push events\") and `queued_event` (one queued item, e.g. \"push event\")."
  type = object({
    title        = string
    function     = string
    role         = string
    dead_letters = string
    queued_event = string
  })
}

variable "tags" {
  description = "Tags of every resource (the platform module adds its `qscan:component` tag)."
  type        = map(string)
}

variable "core" {
  description = "The scan store from modules/aws-core (validated by the platform module)."
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
}

# ------------------------------------------------------------------ queue
variable "source_rule_arns" {
  description = "ARNs of the EventBridge rules that may send to the scan queue and the DLQ (the queue policies admit exactly these)."
  type        = list(string)
}

variable "max_receive_count" {
  description = "Deliveries of a scan message before it moves to the dead-letter queue."
  type        = number
}

variable "queue_message_retention_seconds" {
  description = "How long an unprocessed event stays in the scan queue (the dead-letter queue keeps 14 days); at least the retry horizon plus the dedupe lease (a precondition says by how much)."
  type        = number
}

variable "retry_backoff" {
  description = "Backoff of failed scans (QSCAN_RETRY_BACKOFF_BASE_SECONDS / _MAX_SECONDS): the handler makes a failed record visible again after min(base_seconds x 2^(attempt-1), max_seconds) seconds, instead of after the queue's visibility timeout."
  type = object({
    base_seconds = number
    max_seconds  = number
  })

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
  description = "The handler package: `local_path` or `s3_bucket` + `s3_key` (+ `s3_object_version`), optional `source_code_hash`."
  type = object({
    local_path        = optional(string)
    source_code_hash  = optional(string)
    s3_bucket         = optional(string)
    s3_key            = optional(string)
    s3_object_version = optional(string)
  })
}

variable "handler" {
  description = "Python entry point of the handler package."
  type        = string
}

variable "qscanner_layer_name" {
  description = "Name of the qscanner layer published from qscanner_layer_artifact."
  type        = string
}

variable "qscanner_layer_artifact" {
  description = "A zip with qscanner at bin/qscanner, published as a layer; same shape as handler_artifact. Mutually exclusive with qscanner_layer_arn."
  type = object({
    local_path        = optional(string)
    source_code_hash  = optional(string)
    s3_bucket         = optional(string)
    s3_key            = optional(string)
    s3_object_version = optional(string)
  })
}

variable "qscanner_layer_arn" {
  description = "Versioned ARN of an existing qscanner layer. Mutually exclusive with qscanner_layer_artifact."
  type        = string
}

variable "additional_layer_arns" {
  description = "Further versioned layer ARNs (at most 5 layers in total)."
  type        = list(string)
}

variable "qscanner_path" {
  description = "Absolute path of qscanner in the function; null: /opt/bin/qscanner from the qscanner layer."
  type        = string
}

variable "memory_size" {
  description = "Function memory in MB."
  type        = number
}

variable "timeout" {
  description = "Function timeout in seconds; the queue visibility timeout is 6x this."
  type        = number
}

variable "ephemeral_storage_size" {
  description = "Size of /tmp in MB."
  type        = number
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency of the function; null leaves it unreserved. At least maximum_concurrency when set."
  type        = number
}

variable "maximum_concurrency" {
  description = "Most concurrent scans the queue trigger starts."
  type        = number
}

variable "create_event_source_mapping" {
  description = "Connect the scan queue to the function (SQS event source mapping)."
  type        = bool
}

variable "batch_size" {
  description = "Events per invocation (failures are reported per item)."
  type        = number
}

variable "vpc_config" {
  description = "Subnets and security groups of the function; null runs it outside a VPC (and grants no ENI rights)."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
}

variable "code_signing_config_arn" {
  description = "Lambda code signing configuration; null for none."
  type        = string
}

variable "environment_variables" {
  description = "Extra environment variables; core, platform and common settings win on a name clash."
  type        = map(string)
}

variable "platform_environment" {
  description = "The platform's own handler settings (e.g. QSCAN_SELF_FUNCTION_NAMES); they win over core and extra variables, the common settings win over them. Null values are left out."
  type        = map(string)
  default     = {}
}

variable "platform_policy_statements" {
  description = "The platform's IAM statements as JSON arrays (`jsonencode([...])`, every statement with a Sid): `read` (what the scanner reads to scan, placed after the queue statements) and `optional` (feature grants, placed after the scan store statements). Common statements (logs, X-Ray, queue, store, secret, KMS, spoke role, VPC) are this module's."
  type = object({
    read     = string
    optional = optional(string, "[]")
  })

  validation {
    condition = alltrue([
      for document in [var.platform_policy_statements.read, var.platform_policy_statements.optional] :
      try(alltrue([for statement in jsondecode(document) : length(statement.Sid) > 0 && contains(["Allow", "Deny"], statement.Effect)]), false)
    ])
    error_message = "platform_policy_statements.read and .optional must be JSON arrays of IAM statements, each with a Sid and an Effect."
  }
}

# ------------------------------------------------------------------ scan settings
variable "severity_threshold" {
  description = "Lowest finding severity that alerts (QSCAN_SEVERITY_THRESHOLD; passed on upper-case)."
  type        = string
}

variable "scan_types" {
  description = "qscanner scan types (QSCAN_SCAN_TYPES, comma-joined)."
  type        = list(string)
}

variable "scan_timeout_seconds" {
  description = "qscanner's own timeout (QSCAN_SCAN_TIMEOUT_SECONDS); null: 80% of timeout, at most timeout - 30."
  type        = number
}

variable "spoke_role_name" {
  description = "Read role in spoke accounts the scanner may assume (QSCAN_SPOKE_ROLE_NAME); null: none."
  type        = string
}

variable "spoke_external_id" {
  description = "ExternalId for the spoke role (QSCAN_SPOKE_EXTERNAL_ID); only with spoke_role_name."
  type        = string
}

variable "log_level" {
  description = "Handler log level (QSCAN_LOG_LEVEL)."
  type        = string
}

# ------------------------------------------------------------------ observability
variable "metrics_namespace" {
  description = "CloudWatch namespace of the handler's EMF metrics (QSCAN_METRICS_NAMESPACE); the dashboard reads it."
  type        = string
}

variable "queue_age_alarm_seconds" {
  description = "Alarm when the oldest waiting event is older than this many seconds."
  type        = number
}

variable "create_dashboard" {
  description = "Create the CloudWatch dashboard."
  type        = bool
}

# ------------------------------------------------------------------ cross-account
variable "organization_id" {
  description = "AWS Organizations id (o-...): sts:AssumeRole on the spoke role is limited to roles of this organization (aws:ResourceOrgID); null: no organization condition."
  type        = string
  default     = null

  validation {
    condition     = var.organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))
    error_message = "organization_id must be null or an AWS Organizations id such as o-a1b2c3d4e5."
  }
}
