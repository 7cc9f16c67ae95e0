variable "subscription_id" {
  description = "The spoke subscription whose container writes go to the hub (one apply, with its own state, per spoke)."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", var.subscription_id))
    error_message = "subscription_id must be a subscription GUID."
  }
}

variable "hub" {
  description = "The hub's contract: `terraform output -json spoke_config` of environments/azure, verbatim (e.g. in hub.auto.tfvars.json as `{\"hub\": ...}`). modules/aci-aca-spoke validates it."
  type = object({
    name = string
    scan_queue = object({
      id                 = string
      name               = string
      storage_account_id = string
    })
    dead_letter = object({
      id                 = string
      container_name     = string
      storage_account_id = string
    })
    app_principal_id = string
    reader_role = object({
      definition_id           = string
      assign_per_subscription = bool
    })
    event_delivery = object({
      max_delivery_attempts = number
      time_to_live_minutes  = number
    })
  })
}

variable "location" {
  description = "Azure region of the spoke's resource group (the system topic itself is global)."
  type        = string
  default     = "westeurope"
}

variable "resource_group_name" {
  description = "Resource group the root creates in the spoke subscription for the system topic (its writes never trigger a scan)."
  type        = string
  default     = "rg-qscan-spoke"
}

variable "existing_system_topic" {
  description = "The spoke subscription's existing Microsoft.Resources.Subscriptions system topic (name and resource group), or null to create it. Only one may exist per subscription; it needs a system-assigned identity."
  type = object({
    name                = string
    resource_group_name = string
  })
  default = null
}

variable "excluded_subject_prefixes" {
  description = "More resource id prefixes of the spoke never to scan (e.g. a sandbox resource group `/subscriptions/<id>/resourceGroups/<rg>/`); at most 21."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
