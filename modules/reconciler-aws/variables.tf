variable "name_prefix" {
  description = "Prefix of every name (`<name_prefix>-reconciler`); global names (IAM) also carry the region."
  type        = string
  default     = "qscan"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-24 lower-case letters, digits or hyphens, starting with a letter and ending with a letter or digit."
  }
}

variable "handler_artifact" {
  description = "The reconciler package (`aws-reconciler` of `make package`): a local zip and its base64 SHA-256."
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

variable "schedule_expression" {
  description = "When the reconciler runs (EventBridge Scheduler `rate(...)` or `cron(...)`). The never-scanned alarm needs at least one run a day."
  type        = string
  default     = "rate(1 hour)"
  nullable    = false

  validation {
    condition     = can(regex("^(rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)|cron\\([^)]{9,}\\))$", var.schedule_expression))
    error_message = "schedule_expression must be rate(<n> <unit>) or cron(<6 fields>)."
  }
}

variable "services" {
  description = "What each run lists: `ecr` (images pushed within limits.lookback_days), `ecs` (images of RUNNING tasks), `lambda` (functions). null: every service that has a destination. A listed service needs its destination."
  type        = list(string)
  default     = null

  validation {
    condition     = var.services == null || try(length(var.services) > 0 && alltrue([for s in var.services : contains(["ecr", "ecs", "lambda"], s)]) && length(distinct(var.services)) == length(var.services), false)
    error_message = "services must be null or a non-empty list of distinct values among ecr, ecs, lambda."
  }
}

variable "destinations" {
  description = "Where requests go: the ECR scan queue (modules/ecr `queue_url`/`queue_arn`) for ECR images, the Fargate workflow (modules/fargate `state_machine_arn`) for running ECS images, the Lambda scan queue (modules/lambda) for functions. Set at least one: without any the function's first run fails (its errors alarm fires); the default only lets a plan of the platform inputs alone work."
  type = object({
    ecr_queue         = optional(object({ url = string, arn = string }))
    lambda_queue      = optional(object({ url = string, arn = string }))
    state_machine_arn = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition = alltrue([
      for q in [var.destinations.ecr_queue, var.destinations.lambda_queue] : q == null || (
        can(regex("^(https://[A-Za-z0-9.-]+(:[0-9]+)?|http://(localhost|127\\.0\\.0\\.1)(:[0-9]+)?)/[0-9]{12}/[A-Za-z0-9_-]{1,80}$", q.url)) &&
        can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}$", q.arn))
      )
    ])
    error_message = "destinations: a queue is { url = https://sqs.<region>.amazonaws.com/<account>/<name> (http only on localhost), arn = arn:aws:sqs:... } (standard queues)."
  }
  validation {
    condition     = var.destinations.state_machine_arn == null || can(regex("^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}$", var.destinations.state_machine_arn))
    error_message = "destinations.state_machine_arn must be a Step Functions state machine ARN."
  }
}

variable "regions" {
  description = "Regions each run lists (empty: the deployment's region)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = length(var.regions) <= 50 && alltrue([for r in var.regions : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$", r))])
    error_message = "regions must be at most 50 AWS region names such as eu-west-1."
  }
}

variable "accounts" {
  description = "Other accounts listed through spoke_role_name (their spoke modules grant the read role); this account is always listed."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = length(var.accounts) <= 1000 && alltrue([for a in var.accounts : can(regex("^[0-9]{12}$", a))])
    error_message = "accounts must be 12-digit AWS account ids (at most 1000)."
  }
}

variable "spoke_role_name" {
  description = "The spoke read role assumed in `accounts` (with spoke_external_id); required when accounts is not empty."
  type        = string
  default     = null

  validation {
    condition     = var.spoke_role_name == null || can(regex("^[\\w+=,.@-]{1,64}$", var.spoke_role_name))
    error_message = "spoke_role_name must be an IAM role name."
  }
}

variable "spoke_external_id" {
  description = "ExternalId of the spoke read role."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.spoke_external_id == null || try(length(var.spoke_external_id) >= 2 && length(var.spoke_external_id) <= 1224 && can(regex("^[A-Za-z0-9+=,.@:/_-]+$", var.spoke_external_id)), false)
    error_message = "spoke_external_id must be 2-1224 of letters, digits and +=,.@:/_-."
  }
}

variable "limits" {
  description = "Bounds of one run: list/describe calls and requests per account, wall seconds for the run (below `timeout` - 30), how long a requested artifact is not requested again, and how many days back ECR pushes are listed. The rescan interval is the scan store's cache TTL."
  type = object({
    max_pages              = optional(number, 1000)
    max_seconds            = optional(number, 600)
    max_requests           = optional(number, 500)
    request_window_seconds = optional(number, 21600)
    lookback_days          = optional(number, 7)
  })
  default  = {}
  nullable = false

  validation {
    condition = (
      var.limits.max_pages >= 1 && var.limits.max_pages <= 100000 && floor(var.limits.max_pages) == var.limits.max_pages &&
      var.limits.max_requests >= 1 && var.limits.max_requests <= 100000 && floor(var.limits.max_requests) == var.limits.max_requests &&
      var.limits.max_seconds >= 10 && var.limits.max_seconds <= 3600 && floor(var.limits.max_seconds) == var.limits.max_seconds &&
      var.limits.request_window_seconds >= 60 && var.limits.request_window_seconds <= 604800 &&
      var.limits.lookback_days >= 1 && var.limits.lookback_days <= 90 && floor(var.limits.lookback_days) == var.limits.lookback_days
    )
    error_message = "limits: max_pages and max_requests 1-100000, max_seconds 10-3600, request_window_seconds 60-604800, lookback_days 1-90 (whole numbers)."
  }
}

variable "self_function_names" {
  description = "Exact names of qscan's own functions in this account and region, never listed (the scanner modules' `function_name` outputs); the reconciler itself is always included."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = length(var.self_function_names) <= 49 && alltrue([for n in var.self_function_names : can(regex("^[A-Za-z0-9_-]{1,64}$", n))])
    error_message = "self_function_names must be at most 49 exact Lambda function names."
  }
}

variable "timeout" {
  description = "Function timeout in seconds (at most 900, at least limits.max_seconds + 30)."
  type        = number
  default     = 900
  nullable    = false

  validation {
    condition     = var.timeout >= 60 && var.timeout <= 900
    error_message = "timeout must be between 60 and 900 seconds."
  }
}

variable "memory_size" {
  description = "Function memory in MB (the listing holds one account's artifacts at a time)."
  type        = number
  default     = 512
  nullable    = false

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "never_scanned_alarm" {
  description = "Alarm on the alerts topic when the never-scanned count stayed above zero for a whole day (the minimum of `NeverScanned` over 86400 s)."
  type        = bool
  default     = true
  nullable    = false
}

variable "log_level" {
  description = "Handler log level: DEBUG, INFO, WARNING, ERROR or CRITICAL."
  type        = string
  default     = "INFO"
  nullable    = false

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}
