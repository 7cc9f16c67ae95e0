# ------------------------------------------------------------------ naming (core and tags: platform_inputs.tf)
variable "name_prefix" {
  description = "Prefix of every name (`<name_prefix>-fargate-*`); global names (IAM) also carry the region."
  type        = string
  default     = "qscan"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-24 lower-case letters, digits or hyphens, starting with a letter and ending with a letter or digit."
  }
}

# ------------------------------------------------------------------ trigger
variable "event_bus_name" {
  description = "Event bus the rule listens on: `default` for ECS calls in this account, or a hub bus that spokes forward to."
  type        = string
  default     = "default"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]{1,256}$", var.event_bus_name))
    error_message = "event_bus_name must be an event bus name (not an ARN)."
  }
}

variable "existing_trail_arn" {
  description = "ARN of the trail that records this account's write management events in this region: modules/aws-trail's trail_arn, or one that already exists (e.g. the organization trail). Required while event_bus_name is `default` (ECS CloudTrail calls reach EventBridge only through a trail); passed to the trail_arn output."
  type        = string
  default     = null

  validation {
    condition     = var.existing_trail_arn == null || can(regex("^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:[0-9]{12}:trail/[A-Za-z0-9._-]{3,128}$", var.existing_trail_arn))
    error_message = "existing_trail_arn must be a CloudTrail trail ARN (arn:<partition>:cloudtrail:<region>:<account>:trail/<name>)."
  }
}

variable "cluster_include" {
  description = "ECS cluster names to scan RunTask/CreateService/UpdateService calls of; empty: every cluster. `name` matches exactly, `team-*` by prefix. Matched against the cluster name or ARN suffix in the call. RegisterTaskDefinition has no cluster and is filtered by family only. Cannot be combined with cluster_exclude."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for p in var.cluster_include : can(regex("^[A-Za-z0-9_-]{1,255}\\*?$", p))])
    error_message = "cluster_include entries must be ECS cluster names (letters, digits, _ and -) with an optional trailing `*`."
  }
}

variable "cluster_exclude" {
  description = "ECS cluster names never to scan (same syntax as cluster_include). Cannot be combined with cluster_include."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for p in var.cluster_exclude : can(regex("^[A-Za-z0-9_-]{1,255}\\*?$", p))])
    error_message = "cluster_exclude entries must be ECS cluster names (letters, digits, _ and -) with an optional trailing `*`."
  }
}

variable "family_include" {
  description = "Task definition families to scan RegisterTaskDefinition calls of; empty: every family. Same syntax as cluster_include. Cannot be combined with family_exclude."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for p in var.family_include : can(regex("^[A-Za-z0-9_-]{1,255}\\*?$", p))])
    error_message = "family_include entries must be task definition families (letters, digits, _ and -) with an optional trailing `*`."
  }
}

variable "family_exclude" {
  description = "Task definition families never to scan on RegisterTaskDefinition (same syntax). Cannot be combined with family_include."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for p in var.family_exclude : can(regex("^[A-Za-z0-9_-]{1,255}\\*?$", p))])
    error_message = "family_exclude entries must be task definition families (letters, digits, _ and -) with an optional trailing `*`."
  }
}

variable "event_max_age_seconds" {
  description = "How long EventBridge retries starting an execution before the event goes to the dead-letter queue."
  type        = number
  default     = 86400
  nullable    = false

  validation {
    condition     = var.event_max_age_seconds >= 60 && var.event_max_age_seconds <= 86400 && floor(var.event_max_age_seconds) == var.event_max_age_seconds
    error_message = "event_max_age_seconds must be a whole number from 60 to 86400."
  }
}

variable "event_max_retry_attempts" {
  description = "How many times EventBridge retries starting an execution before the event goes to the dead-letter queue."
  type        = number
  default     = 185
  nullable    = false

  validation {
    condition     = var.event_max_retry_attempts >= 0 && var.event_max_retry_attempts <= 185 && floor(var.event_max_retry_attempts) == var.event_max_retry_attempts
    error_message = "event_max_retry_attempts must be a whole number from 0 to 185."
  }
}

# ------------------------------------------------------------------ workflow
variable "scanner_backend" {
  description = "`qscanner`: the task function runs `qscanner image <ref@digest>` (any registry the registry client resolves; needs qscanner_layer_arn or qscanner_path). `qualys-api`: the Qualys registry sensor (ECR images only): ensure registry, schedule, then poll at most max_polls times."
  type        = string
  default     = "qscanner"
  nullable    = false

  validation {
    condition     = contains(["qscanner", "qualys-api"], var.scanner_backend)
    error_message = "scanner_backend must be qscanner or qualys-api."
  }
}

variable "max_concurrency" {
  description = "Images of one execution scanned at the same time (the Map state's MaxConcurrency; Qualys limits concurrency and qscanner is heavy)."
  type        = number
  default     = 4
  nullable    = false

  validation {
    condition     = var.max_concurrency >= 1 && var.max_concurrency <= 40 && floor(var.max_concurrency) == var.max_concurrency
    error_message = "max_concurrency must be a whole number from 1 to 40 (0 would mean unbounded)."
  }
}

variable "max_polls" {
  description = "qualys-api: status polls of one scheduled scan before it counts as timed out (a failure that notifies)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.max_polls >= 1 && var.max_polls <= 1000 && floor(var.max_polls) == var.max_polls
    error_message = "max_polls must be a whole number from 1 to 1000."
  }
}

variable "poll_interval_seconds" {
  description = "qualys-api: seconds the workflow waits before each status poll."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.poll_interval_seconds >= 1 && var.poll_interval_seconds <= 3600 && floor(var.poll_interval_seconds) == var.poll_interval_seconds
    error_message = "poll_interval_seconds must be a whole number from 1 to 3600."
  }
}

variable "task_timeout_seconds" {
  description = "TimeoutSeconds of every Task but the qscanner scan (parse, claim, registry calls, persist, notify, release)."
  type        = number
  default     = 120
  nullable    = false

  validation {
    condition     = var.task_timeout_seconds >= 5 && var.task_timeout_seconds <= 900 && floor(var.task_timeout_seconds) == var.task_timeout_seconds
    error_message = "task_timeout_seconds must be a whole number from 5 to 900 (the Lambda maximum)."
  }
}

variable "scan_timeout_seconds" {
  description = "TimeoutSeconds of the qscanner scan Task; also the task function's timeout (QSCAN_SCAN_TIMEOUT_SECONDS gets 30 seconds less)."
  type        = number
  default     = 900
  nullable    = false

  validation {
    condition     = var.scan_timeout_seconds >= 60 && var.scan_timeout_seconds <= 900 && floor(var.scan_timeout_seconds) == var.scan_timeout_seconds
    error_message = "scan_timeout_seconds must be a whole number from 60 to 900 (the Lambda maximum)."
  }
}

variable "retry" {
  description = "Retry of every Task on the transient error names (TransientStepError, Lambda.ServiceException, Lambda.AWSLambdaException, Lambda.SdkClientException, Lambda.TooManyRequestsException): first interval, attempts after the first, and the longest delay (backoff rate 2)."
  type = object({
    interval_seconds  = optional(number, 5)
    max_attempts      = optional(number, 3)
    max_delay_seconds = optional(number, 120)
  })
  default  = {}
  nullable = false

  validation {
    condition = (
      var.retry.interval_seconds >= 1 && var.retry.interval_seconds <= 300 && floor(var.retry.interval_seconds) == var.retry.interval_seconds &&
      var.retry.max_attempts >= 1 && var.retry.max_attempts <= 10 && floor(var.retry.max_attempts) == var.retry.max_attempts &&
      var.retry.max_delay_seconds >= var.retry.interval_seconds && var.retry.max_delay_seconds <= 3600 && floor(var.retry.max_delay_seconds) == var.retry.max_delay_seconds
    )
    error_message = "retry: interval_seconds 1-300, max_attempts 1-10, max_delay_seconds from interval_seconds to 3600, all whole numbers."
  }
}

variable "execution_timeout_seconds" {
  description = "TimeoutSeconds of a whole execution (a timed-out execution is alarmed). Must leave room for the scans: at least scan_timeout_seconds, and for qualys-api max_polls * poll_interval_seconds."
  type        = number
  default     = 7200
  nullable    = false

  validation {
    condition     = var.execution_timeout_seconds >= 60 && var.execution_timeout_seconds <= 86400 && floor(var.execution_timeout_seconds) == var.execution_timeout_seconds
    error_message = "execution_timeout_seconds must be a whole number from 60 to 86400."
  }
}

variable "workflow_log_level" {
  description = "Step Functions execution logging to CloudWatch Logs: `ALL` (every state transition, with execution data) or `ERROR` (failures only)."
  type        = string
  default     = "ERROR"
  nullable    = false

  validation {
    condition     = contains(["ALL", "ERROR"], var.workflow_log_level)
    error_message = "workflow_log_level must be ALL or ERROR."
  }
}

variable "enable_xray" {
  description = "X-Ray tracing of the state machine and the task function."
  type        = bool
  default     = false
  nullable    = false
}

# ------------------------------------------------------------------ task function
variable "handler_artifact" {
  description = "The task function package (`aws-fargate` of `make package`): a local zip and its base64 SHA-256. One artifact for every step (the step is in the input)."
  type = object({
    local_path       = string
    source_code_hash = string
  })
  nullable = false

  validation {
    condition     = endswith(var.handler_artifact.local_path, ".zip") && can(regex("^[A-Za-z0-9+/]{43}=$", var.handler_artifact.source_code_hash))
    error_message = "handler_artifact needs a .zip local_path and a base64 SHA-256 source_code_hash (44 characters)."
  }
}

variable "handler" {
  description = "Handler of the task function."
  type        = string
  default     = "handler.lambda_handler"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_.]*\\.[A-Za-z_][A-Za-z0-9_]*$", var.handler))
    error_message = "handler must be module.function."
  }
}

variable "memory_size" {
  description = "Memory of the task function in MB (qscanner needs ~2 GB for large images)."
  type        = number
  default     = 2048
  nullable    = false

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number from 128 to 10240."
  }
}

variable "qscanner_layer_arn" {
  description = "Layer version ARN with the qscanner binary (e.g. modules/ecr's qscanner_layer_version_arn); needed by the qscanner backend unless qscanner_path points elsewhere."
  type        = string
  default     = null

  validation {
    condition     = var.qscanner_layer_arn == null || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", var.qscanner_layer_arn))
    error_message = "qscanner_layer_arn must be a Lambda layer version ARN."
  }
}

variable "qscanner_path" {
  description = "Absolute path of the qscanner executable in the task function (QSCANNER_PATH). null: /opt/bin/qscanner from qscanner_layer_arn. The qscanner backend needs one of the two (e.g. the binary ships in the handler zip: /var/task/bin/qscanner)."
  type        = string
  default     = null

  validation {
    condition     = var.qscanner_path == null || can(regex("^/[^\\s]*[^/\\s]$", var.qscanner_path))
    error_message = "qscanner_path must be an absolute file path without spaces."
  }
}

variable "registry_credentials_secret_arn" {
  description = "Secrets Manager secret whose JSON maps a registry host to {username, password} (QSCAN_REGISTRY_CREDENTIALS_SECRET; docs/registry.md), for task definitions whose images live in private registries other than ECR. null: those registries are read anonymously. ECR uses the account's credentials."
  type        = string
  default     = null

  validation {
    condition     = var.registry_credentials_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$", var.registry_credentials_secret_arn))
    error_message = "registry_credentials_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "qualys_registry_role_arn" {
  description = "qualys-api backend: the IAM role Qualys assumes to read an ECR registry that qscan registers with Qualys when Qualys does not know it yet (QSCAN_QUALYS_REGISTRY_ROLE_ARN). null: registries must already be connected in Qualys (an image of another registry fails with that reason)."
  type        = string
  default     = null

  validation {
    condition     = var.qualys_registry_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", var.qualys_registry_role_arn))
    error_message = "qualys_registry_role_arn must be an IAM role ARN."
  }
}

variable "spoke_role_name" {
  description = "Name of the read role in spoke accounts the task function assumes for cross-account task definitions and images (QSCAN_SPOKE_ROLE_NAME); attach read_policy_json to it. null: no cross-account access."
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
  description = "AWS Organizations id (o-...) of the accounts the task function reads: when set, sts:AssumeRole on the spoke role is limited to roles of this organization (aws:ResourceOrgID). null: no organization condition."
  type        = string
  default     = null

  validation {
    condition     = var.organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))
    error_message = "organization_id must be null or an AWS Organizations id such as o-a1b2c3d4e5."
  }
}

variable "create_dashboard" {
  description = "Create the CloudWatch dashboard (modules/aws-dashboard: scans, findings by severity and per account, the scanner's own health)."
  type        = bool
  default     = true
  nullable    = false
}
