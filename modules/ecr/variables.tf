# The ECR module's own inputs. The worker settings (name_prefix, core, handler_artifact, memory, timeout,
# concurrency, retries, alarms, ...) are in worker_settings.tf, a generated copy of
# modules/aws-lambda-worker/worker_settings.tf: edit them there and run `make docs`.

# ------------------------------------------------------------------ trigger
variable "event_bus_name" {
  description = "Event bus the rules listen on: `default` for pushes in this account, or a hub bus that spokes forward to."
  type        = string
  default     = "default"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]{1,256}$", var.event_bus_name))
    error_message = "event_bus_name must be an event bus name (not an ARN)."
  }
}

variable "enable_cloudtrail_putimage" {
  description = "Also trigger on the CloudTrail `PutImage` call (needs a trail recording management events). The native `ECR Image Action` rule is always on."
  type        = bool
  default     = false
}

variable "repository_include" {
  description = "Repository name patterns to scan; empty scans every repository. `name` matches exactly, `team-*` by prefix, `*` anywhere else is a wildcard (e.g. `*/prod-*`). Cannot be combined with repository_exclude."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([for p in var.repository_include :
      can(regex("^[a-z0-9*][a-z0-9._/*-]{0,255}$", p)) && !strcontains(p, "**") && p != "*"
    ])
    error_message = "repository_include entries must be ECR repository names (lower-case letters, digits, . _ - /) with optional single `*` wildcards, no `**`, and not just `*` (leave the list empty to scan everything)."
  }
}

variable "repository_exclude" {
  description = "Repository name patterns never to scan (same syntax as repository_include); rendered as one EventBridge `anything-but`. Cannot be combined with repository_include."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([for p in var.repository_exclude :
      can(regex("^[a-z0-9*][a-z0-9._/*-]{0,255}$", p)) && !strcontains(p, "**") && p != "*"
    ])
    error_message = "repository_exclude entries must be ECR repository names (lower-case letters, digits, . _ - /) with optional single `*` wildcards, no `**`, and not just `*`."
  }
}
