variable "region" {
  description = "The region this spoke forwards from (apply once per account and region used)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1 or us-gov-west-1."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (2-20 lower-case letters, digits, hyphens)."
  type        = string
  default     = "qscan"
}

variable "tags" {
  description = "Tags on every resource (provider default_tags)."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "hub" {
  description = "The hub's contract: `terraform output -json spoke_config` of environments/aws-hub, verbatim (e.g. in hub.auto.tfvars.json as `{\"hub\": ...}`)."
  type = object({
    event_bus_arn     = string
    scanner_role_arns = list(string)
    spoke_role_name   = string
    spoke_external_id = string
    organization_id   = optional(string)
    event_patterns    = map(string)
    read_policy_jsons = map(string)
  })
}

variable "create_read_role" {
  description = "Create the account-wide read role the hub assumes: true in exactly one region of each account, false in its other regions and in the hub account."
  type        = bool
  default     = true
}

variable "create_trail" {
  description = "Create a trail recording this account's write management events in this region (Lambda and ECS deployments reach the default bus only through one); false where the organization trail records them."
  type        = bool
  default     = false
}

variable "trail_multi_region" {
  description = "Only with create_trail: one trail for every region of the account (then create_trail in one region only)."
  type        = bool
  default     = false
}

variable "trail_bucket_force_destroy" {
  description = "Only with create_trail: allow destroying the trail's log bucket while it still holds logs."
  type        = bool
  default     = false
}

variable "dlq_alarm_actions" {
  description = "ARNs (e.g. an SNS topic of this account) notified when events could not be forwarded to the hub."
  type        = list(string)
  default     = []
  nullable    = false
}
