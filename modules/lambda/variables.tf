# The Lambda module's own inputs. The worker settings (name_prefix, core, handler_artifact, memory, timeout,
# concurrency, retries, alarms, ...) are in worker_settings.tf, a generated copy of
# modules/aws-lambda-worker/worker_settings.tf: edit them there and run `make docs`.

# ------------------------------------------------------------------ trigger
variable "event_bus_name" {
  description = "Event bus the deployment rule listens on: `default` for calls in this account, or a hub bus that spokes forward to. The optional bulk-scan schedule always lives on the default bus."
  type        = string
  default     = "default"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]{1,256}$", var.event_bus_name))
    error_message = "event_bus_name must be an event bus name (not an ARN)."
  }
}

variable "self_function_names" {
  description = "Exact names of further qscan functions in this account and region that are never scanned, e.g. `[module.ecr.function_name]`; this module's own scanner (`<name_prefix>-lambda-scanner`) is always included. Excluded in the event pattern (name, partial ARN and ARN forms, only for events of this account and region: a spoke's or another region's function of the same name is scanned) and skipped by the handler (QSCAN_SELF_FUNCTION_NAMES). Names, never prefixes or wildcards: a customer's `<name_prefix>-billing` is scanned."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = length(var.self_function_names) <= 8 && alltrue([for name in var.self_function_names : can(regex("^[A-Za-z0-9_-]{1,64}$", name))])
    error_message = "self_function_names must list at most 8 exact Lambda function names (1-64 letters, digits, _ and -; no wildcards, prefixes or ARNs)."
  }
}

variable "self_function_prefix" {
  description = "DEPRECATED and ignored (a warning says so): a prefix also excluded customers' functions that share it. List qscan's own functions in self_function_names instead. Will be removed in a future major version."
  type        = string
  default     = null

  validation {
    condition     = var.self_function_prefix == null || can(regex("^[A-Za-z0-9_-]{1,63}$", var.self_function_prefix))
    error_message = "self_function_prefix must be 1-63 characters of letters, digits, _ and - (it is deprecated and ignored: use self_function_names)."
  }
}

variable "bulk_scan_schedule_expression" {
  description = "Optional schedule (`rate(...)` or `cron(...)`, EventBridge syntax) that puts one bulk-scan request into the scan queue; the handler then enumerates the region's functions (lambda:ListFunctions) and queues one scan request per function. null: no schedule."
  type        = string
  default     = null

  validation {
    condition     = var.bulk_scan_schedule_expression == null || can(regex("^(rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)|cron\\([^()]+\\))$", var.bulk_scan_schedule_expression))
    error_message = "bulk_scan_schedule_expression must be null, rate(<n> minute(s)|hour(s)|day(s)) or cron(<6 fields>)."
  }
}

# ------------------------------------------------------------------ CloudTrail
variable "existing_trail_arn" {
  description = "ARN of the trail that records this account's write management events in this region: modules/aws-trail's trail_arn, or one that already exists (e.g. the organization trail). Documents the dependency and is passed to the trail_arn output; required while event_bus_name is `default`."
  type        = string
  default     = null

  validation {
    condition     = var.existing_trail_arn == null || can(regex("^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:[0-9]{12}:trail/[A-Za-z0-9._-]{3,128}$", var.existing_trail_arn))
    error_message = "existing_trail_arn must be a CloudTrail trail ARN (arn:<partition>:cloudtrail:<region>:<account>:trail/<name>)."
  }
}

# ------------------------------------------------------------------ scan settings
variable "enable_tagging" {
  description = "Let the handler tag each scanned function with its result (QSCAN_TAG_FUNCTIONS): grants lambda:TagResource on this account's functions, limited by aws:TagKeys to QualysScanStatus, QualysScanTime, QualysCritical and QualysHigh. Tagging calls TagResource, which the deployment rule does not match, so it never re-triggers a scan."
  type        = bool
  default     = false
}
