variable "name_prefix" {
  description = "Prefix of every resource name (2-20 lower-case letters, digits, hyphens)."
  type        = string
  default     = "qscan"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-20 characters of lower-case letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "hub" {
  description = "The hub's contract: modules/aws-hub's (and environments/aws-hub's) spoke_config output, verbatim. Its event_patterns are forwarded, its read_policy_jsons attached to the read role, its scanner_role_arns trusted with its spoke_external_id (and its organization_id, when set, as aws:PrincipalOrgID)."
  type = object({
    event_bus_arn     = string
    scanner_role_arns = list(string)
    spoke_role_name   = string
    spoke_external_id = string
    organization_id   = optional(string)
    event_patterns    = map(string)
    read_policy_jsons = map(string)
  })
  nullable = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._-]+$", var.hub.event_bus_arn))
    error_message = "hub.event_bus_arn must be the hub's event bus ARN (arn:<partition>:events:<region>:<account>:event-bus/<name>)."
  }
  validation {
    condition     = length(var.hub.scanner_role_arns) > 0 && alltrue([for arn in var.hub.scanner_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", arn))])
    error_message = "hub.scanner_role_arns must list the hub's scanner role ARNs (at least one)."
  }
  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.hub.spoke_role_name))
    error_message = "hub.spoke_role_name must be an IAM role name (1-64 characters of letters, digits and +=,.@_-)."
  }
  validation {
    condition     = length(var.hub.spoke_external_id) >= 2 && length(var.hub.spoke_external_id) <= 1224 && can(regex("^[A-Za-z0-9+=,.@:/_-]+$", var.hub.spoke_external_id))
    error_message = "hub.spoke_external_id must be 2-1224 characters of letters, digits and +=,.@:/_-."
  }
  validation {
    condition     = length(var.hub.event_patterns) > 0 && alltrue([for key, pattern in var.hub.event_patterns : can(regex("^[a-z0-9_]{1,24}$", key)) && can(jsondecode(pattern).source)])
    error_message = "hub.event_patterns must map keys of 1-24 lower-case letters, digits and underscores to EventBridge patterns (JSON objects with a source)."
  }
  validation {
    condition     = length(var.hub.read_policy_jsons) > 0 && alltrue([for key, policy in var.hub.read_policy_jsons : can(regex("^[a-z0-9_]{1,24}$", key)) && can(jsondecode(policy).Statement)])
    error_message = "hub.read_policy_jsons must map keys of 1-24 lower-case letters, digits and underscores to IAM policy documents (JSON with a Statement)."
  }
}

variable "create_read_role" {
  description = "Create the read role the hub assumes (named hub.spoke_role_name). The role is account-wide (the scanners assume it by name in the event's account, whatever the region): true in exactly one region of each account, false in its further regions and in the hub account itself (the hub reads its own account with its own roles)."
  type        = bool
  default     = true
}

variable "create_trail" {
  description = "Create a trail (modules/aws-trail) recording this account's write management events in this region, so Lambda and ECS CloudTrail calls reach the default bus. Leave false where a trail already records them (e.g. the organization trail): a second trail of the same events is billed."
  type        = bool
  default     = false
}

variable "trail_multi_region" {
  description = "Only with create_trail: one trail for every region of the account (then create_trail in one region only)."
  type        = bool
  default     = false

  validation {
    condition     = var.create_trail || !var.trail_multi_region
    error_message = "trail_multi_region only applies with create_trail = true."
  }
}

variable "trail_bucket_force_destroy" {
  description = "Only with create_trail: allow destroying the trail's log bucket while it still holds logs."
  type        = bool
  default     = false

  validation {
    condition     = var.create_trail || !var.trail_bucket_force_destroy
    error_message = "trail_bucket_force_destroy only applies with create_trail = true."
  }
}

variable "dlq_alarm_actions" {
  description = "ARNs (e.g. an SNS topic of this account) notified when events the hub bus refused or that could not be delivered wait in the forwarding dead-letter queue."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "tags" {
  description = "Tags on every resource (added to the provider's default_tags)."
  type        = map(string)
  default     = {}
  nullable    = false
}
