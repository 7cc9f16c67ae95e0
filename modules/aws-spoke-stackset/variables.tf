variable "name_prefix" {
  description = "Prefix of the stack set name (`<name_prefix>-spoke`); give scripts/spoke_stackset.py the same --name-prefix as the template's resource names."
  type        = string
  default     = "qscan"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-20 characters of lower-case letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "template_body" {
  description = "The spoke's CloudFormation template: the file scripts/spoke_stackset.py writes from the hub's spoke_config (e.g. `file(\"spoke-stackset.json\")`)."
  type        = string

  validation {
    condition     = can(jsondecode(var.template_body).Resources.ReadRole) && can(jsondecode(var.template_body).Parameters.ReadRoleRegion)
    error_message = "template_body must be the JSON template scripts/spoke_stackset.py writes (Resources.ReadRole, Parameters.ReadRoleRegion)."
  }
}

variable "organizational_unit_ids" {
  description = "Organizational units (ou-...) or the organization root (r-...) whose accounts get the spoke, now and when they join later (auto-deployment)."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.organizational_unit_ids) > 0 && alltrue([for id in var.organizational_unit_ids : can(regex("^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$", id))])
    error_message = "organizational_unit_ids must list at least one OU id (ou-xxxx-xxxxxxxx) or root id (r-xxxx)."
  }
}

variable "excluded_account_ids" {
  description = "Accounts of the organizational units that get no spoke (12 digits), e.g. the hub account: it reads its own account with its own roles (aws-spoke's create_read_role = false there)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.excluded_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "excluded_account_ids must be 12-digit AWS account ids."
  }
}

variable "regions" {
  description = "Every region the spokes forward from (each one gets the forwarding rules, role and dead-letter queue in every target account)."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.regions) > 0 && length(distinct(var.regions)) == length(var.regions) && alltrue([for region in var.regions : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", region))])
    error_message = "regions must list at least one AWS region name (e.g. eu-west-1), each once."
  }
}

variable "read_role_region" {
  description = "The one region of `regions` whose stacks create the account-wide read role the hub assumes (the template's ReadRoleRegion; aws-spoke's create_read_role)."
  type        = string

  validation {
    condition     = contains(var.regions, var.read_role_region)
    error_message = "read_role_region must be one of regions: only a stack in that region creates the read role."
  }
}

variable "call_as" {
  description = "SELF in the organization's management account, DELEGATED_ADMIN in a delegated administrator account for StackSets."
  type        = string
  default     = "SELF"

  validation {
    condition     = contains(["SELF", "DELEGATED_ADMIN"], var.call_as)
    error_message = "call_as must be SELF or DELEGATED_ADMIN."
  }
}

variable "operation_preferences" {
  description = "How a stack set operation rolls out: the percentage of accounts per region that may fail before it stops, the percentage deployed at once, and whether regions run one after the other (SEQUENTIAL) or together (PARALLEL)."
  type = object({
    failure_tolerance_percentage = optional(number, 0)
    max_concurrent_percentage    = optional(number, 25)
    region_concurrency_type      = optional(string, "PARALLEL")
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.operation_preferences.failure_tolerance_percentage >= 0 && var.operation_preferences.failure_tolerance_percentage <= 100 && floor(var.operation_preferences.failure_tolerance_percentage) == var.operation_preferences.failure_tolerance_percentage
    error_message = "operation_preferences.failure_tolerance_percentage must be a whole number from 0 to 100."
  }
  validation {
    condition     = var.operation_preferences.max_concurrent_percentage >= 1 && var.operation_preferences.max_concurrent_percentage <= 100 && floor(var.operation_preferences.max_concurrent_percentage) == var.operation_preferences.max_concurrent_percentage
    error_message = "operation_preferences.max_concurrent_percentage must be a whole number from 1 to 100."
  }
  validation {
    condition     = contains(["SEQUENTIAL", "PARALLEL"], var.operation_preferences.region_concurrency_type)
    error_message = "operation_preferences.region_concurrency_type must be SEQUENTIAL or PARALLEL."
  }
}

variable "tags" {
  description = "Tags on the stack set, propagated to every resource of its stacks (added to qscan:component = spoke)."
  type        = map(string)
  default     = {}
  nullable    = false
}
