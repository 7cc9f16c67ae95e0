variable "hub" {
  description = "The hub's `spoke_config` output (modules/aci-aca): `name` (the hub's `<name_prefix>-<name_suffix>`, which names the topic and the event subscription), the scan queue (`id`, `name`, `storage_account_id`), the dead-letter container (`id`, `container_name`, `storage_account_id`), `app_principal_id`, the reader role (`definition_id`, and `assign_per_subscription`: false when the hub assigns it once at a management group that holds this subscription) and `event_delivery` (`max_delivery_attempts`, `time_to_live_minutes`)."
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
  nullable = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,9}-[a-z0-9]{4,8}$", var.hub.name))
    error_message = "hub.name must be the hub's <name_prefix>-<name_suffix> (the spoke_config output of modules/aci-aca)."
  }

  validation {
    condition = alltrue([
      for id in [var.hub.scan_queue.storage_account_id, var.hub.dead_letter.storage_account_id] :
      can(regex("^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\\.Storage/storageAccounts/[a-z0-9]{3,24}$", id))
    ])
    error_message = "hub.scan_queue.storage_account_id and hub.dead_letter.storage_account_id must be storage account resource ids."
  }

  validation {
    condition = (
      startswith(var.hub.scan_queue.id, "${var.hub.scan_queue.storage_account_id}/") && endswith(var.hub.scan_queue.id, "/queues/${var.hub.scan_queue.name}")
      && startswith(var.hub.dead_letter.id, "${var.hub.dead_letter.storage_account_id}/") && endswith(var.hub.dead_letter.id, "/containers/${var.hub.dead_letter.container_name}")
    )
    error_message = "hub.scan_queue.id and hub.dead_letter.id must be the queue and container resource ids inside their storage accounts."
  }

  validation {
    condition     = can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", var.hub.app_principal_id))
    error_message = "hub.app_principal_id must be the principal id (GUID) of the hub app's identity."
  }

  validation {
    condition     = can(regex("^/(subscriptions/[0-9a-fA-F-]{36}|providers/Microsoft\\.Management/managementGroups/[-\\w.()]{1,90})/providers/Microsoft\\.Authorization/roleDefinitions/[0-9a-fA-F-]{36}$", var.hub.reader_role.definition_id))
    error_message = "hub.reader_role.definition_id must be the resource id of the hub's custom reader role definition."
  }

  validation {
    condition = (
      var.hub.event_delivery.max_delivery_attempts >= 1 && var.hub.event_delivery.max_delivery_attempts <= 30 && floor(var.hub.event_delivery.max_delivery_attempts) == var.hub.event_delivery.max_delivery_attempts
      && var.hub.event_delivery.time_to_live_minutes >= 1 && var.hub.event_delivery.time_to_live_minutes <= 1440 && floor(var.hub.event_delivery.time_to_live_minutes) == var.hub.event_delivery.time_to_live_minutes
    )
    error_message = "hub.event_delivery needs max_delivery_attempts 1-30 and time_to_live_minutes 1-1440 (whole numbers)."
  }
}

variable "resource_group_name" {
  description = "Existing resource group of qscan in this subscription: the module creates the system topic there (unless existing_system_topic), and its writes never trigger a scan (`string_not_begins_with` on the subject)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[-\\w._()]{0,89}[-\\w_()]$", var.resource_group_name))
    error_message = "resource_group_name must be 1-90 letters, digits, '-', '_', '.', '(' or ')' and must not end with '.'."
  }
}

variable "existing_system_topic" {
  description = "This subscription's existing `Microsoft.Resources.Subscriptions` system topic (only one may exist per subscription), or null to create one. An existing topic must have a system-assigned identity: it delivers to the hub's queue and dead-letters with it."
  type = object({
    name                = string
    resource_group_name = string
  })
  default = null
}

variable "excluded_subject_prefixes" {
  description = "More resource id prefixes whose writes never trigger a scan (e.g. `/subscriptions/<id>/resourceGroups/<rg>/`), matched case-insensitively against the event subject. resource_group_name is always excluded. Event Grid allows 25 advanced-filter values per event subscription: the three write operations and resource_group_name leave 21."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = length(var.excluded_subject_prefixes) <= 21
    error_message = "excluded_subject_prefixes can hold at most 21 values (Event Grid: 25 advanced-filter values per subscription, 4 are the module's own)."
  }

  validation {
    condition     = alltrue([for p in var.excluded_subject_prefixes : can(regex("^/subscriptions/[0-9a-fA-F-]{36}(/.*)?$", p))])
    error_message = "excluded_subject_prefixes entries must be resource id prefixes starting /subscriptions/<subscription id>."
  }
}

variable "tags" {
  description = "Tags of the system topic the module creates."
  type        = map(string)
  default     = {}
  nullable    = false
}
