variable "name_prefix" {
  description = "Prefix of every resource name (2-20 lower-case letters, digits, hyphens); the bus is `<name_prefix>-hub`."
  type        = string
  default     = "qscan"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-20 characters of lower-case letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "organization_id" {
  description = "AWS Organizations id (o-...): every account of the organization may put events on the hub bus (aws:PrincipalOrgID), and the scanners assume only spoke roles of the organization (aws:ResourceOrgID). null: only account_ids."
  type        = string
  default     = null

  validation {
    condition     = var.organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))
    error_message = "organization_id must be null or an AWS Organizations id such as o-a1b2c3d4e5."
  }
  validation {
    condition     = var.organization_id != null || length(var.account_ids) > 0
    error_message = "Set organization_id, account_ids or both: with neither the hub bus policy admits no spoke at all."
  }
}

variable "account_ids" {
  description = "Spoke account ids (12 digits) admitted to the hub bus by account, in addition to (or instead of) the organization. Never `*`: admitting every AWS account needs organization_id."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "account_ids must be 12-digit AWS account ids (no `*`, no ARNs): to admit every account of the organization, set organization_id."
  }
}

variable "spoke_role_name" {
  description = "Name of the read role every spoke account holds and the hub's scanners assume (QSCAN_SPOKE_ROLE_NAME). One name for all spokes, account-wide (the scanners build `arn:<partition>:iam::<account>:role/<name>` from an event's account). null: `<name_prefix>-spoke-read`."
  type        = string
  default     = null

  validation {
    condition     = var.spoke_role_name == null || can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.spoke_role_name))
    error_message = "spoke_role_name must be an IAM role name (1-64 characters of letters, digits and +=,.@_-)."
  }
}

variable "spoke_external_id" {
  description = "ExternalId the scanners pass when assuming a spoke read role (QSCAN_SPOKE_EXTERNAL_ID); the spoke roles require it. Choose one per hub, e.g. `<organization id>-qscan`."
  type        = string

  validation {
    condition     = try(length(var.spoke_external_id) >= 2 && length(var.spoke_external_id) <= 1224 && can(regex("^[A-Za-z0-9+=,.@:/_-]+$", var.spoke_external_id)), false)
    error_message = "spoke_external_id must be 2-1224 characters of letters, digits and +=,.@:/_-."
  }
}

variable "scanner_role_arns" {
  description = "ARNs of the hub's scanner roles that assume spoke read roles (e.g. the ecr, lambda and fargate modules' role_arn outputs); the spoke roles trust exactly these."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.scanner_role_arns) > 0 && alltrue([for arn in var.scanner_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", arn))])
    error_message = "scanner_role_arns must list at least one IAM role ARN."
  }
}

variable "event_patterns" {
  description = "The hub platforms' EventBridge patterns (JSON) by rule key (lower-case letters, digits, underscores), e.g. `{ ecr_native = module.ecr.native_event_pattern }`: every spoke forwards exactly these events."
  type        = map(string)
  nullable    = false

  validation {
    condition     = length(var.event_patterns) > 0 && alltrue([for key, pattern in var.event_patterns : can(regex("^[a-z0-9_]{1,24}$", key)) && can(jsondecode(pattern).source)])
    error_message = "event_patterns must map keys of 1-24 lower-case letters, digits and underscores to EventBridge patterns (JSON objects with a source)."
  }
}

variable "read_policy_jsons" {
  description = "The hub platforms' spoke read policies (IAM policy JSON) by platform, e.g. `{ ecr = module.ecr.read_policy_json }`: every spoke read role carries exactly these."
  type        = map(string)
  nullable    = false

  validation {
    condition     = length(var.read_policy_jsons) > 0 && alltrue([for key, policy in var.read_policy_jsons : can(regex("^[a-z0-9_]{1,24}$", key)) && can(jsondecode(policy).Statement)])
    error_message = "read_policy_jsons must map keys of 1-24 lower-case letters, digits and underscores to IAM policy documents (JSON with a Statement)."
  }
}

variable "tags" {
  description = "Tags on the bus (added to the provider's default_tags)."
  type        = map(string)
  default     = {}
  nullable    = false
}
