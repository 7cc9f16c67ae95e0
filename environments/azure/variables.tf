variable "subscription_id" {
  description = "The subscription qscan scans (and runs in)."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", var.subscription_id))
    error_message = "subscription_id must be a subscription GUID."
  }
}

variable "location" {
  description = "Azure region of the scanner's resources."
  type        = string
  default     = "westeurope"
}

variable "resource_group_name" {
  description = "Resource group the environment creates for the scanner (its writes never trigger a scan)."
  type        = string
  default     = "rg-qscan"
}

variable "name_prefix" {
  description = "Prefix of every name (3-10 lower-case letters or digits)."
  type        = string
  default     = "qscan"
}

variable "name_suffix" {
  description = "4-8 lower-case letters or digits that make the global names (storage accounts, Key Vault, Function App) unique."
  type        = string
}

variable "manifest_path" {
  description = "The artifact manifest written by `make package` (relative paths are relative to this directory). Artifact paths inside it are relative to the directory above the manifest's folder (the repository root)."
  type        = string
  default     = "../../dist/manifest.json"

  validation {
    condition     = can(jsondecode(file(var.manifest_path)).artifacts["azure-functions"].sha256_base64)
    error_message = "No Functions app artifact: the manifest is missing or has no \"azure-functions\" entry. Run `make package` in the repository root first (it writes dist/manifest.json), or point manifest_path at the manifest."
  }
}

variable "existing_system_topic" {
  description = "The subscription's existing Microsoft.Resources.Subscriptions system topic (name and resource group), or null to create it. Only one may exist per subscription."
  type = object({
    name                = string
    resource_group_name = string
  })
  default = null
}

variable "excluded_subject_prefixes" {
  description = "More resource id prefixes never to scan (e.g. a sandbox resource group `/subscriptions/<id>/resourceGroups/<rg>/`); at most 21."
  type        = list(string)
  default     = []
}

variable "enable_activity_log_trigger" {
  description = "Also feed the app from the Activity Log through an Event Hub (10-15 minutes late; off by default)."
  type        = bool
  default     = false
}

variable "plan_sku" {
  description = "Elastic Premium plan size: EP1, EP2 or EP3 (hosting = elastic_premium)."
  type        = string
  default     = "EP1"
}

variable "hosting" {
  description = "Function App hosting: elastic_premium (default) or flex_consumption (its package is deployed with the flex_deploy_command output after apply; modules/aci-aca README: Flex Consumption)."
  type        = string
  default     = "elastic_premium"
}

variable "flex_consumption" {
  description = "Flex Consumption scale (hosting = flex_consumption): maximum_instance_count 1-1000, instance_memory_in_mb 2048 or 4096."
  type = object({
    maximum_instance_count = optional(number, 100)
    instance_memory_in_mb  = optional(number, 2048)
  })
  default  = {}
  nullable = false
}

variable "scan_job" {
  description = "The ACI scan-job mode for scans longer than the function allows (modules/aci-aca `scan_job`: enabled, image, cpu, memory_gb, check_delay_seconds; the module validates them)."
  type = object({
    enabled             = optional(bool, false)
    image               = optional(string)
    cpu                 = optional(number, 2)
    memory_gb           = optional(number, 4)
    check_delay_seconds = optional(number, 60)
  })
  default  = {}
  nullable = false
}

variable "severity_threshold" {
  description = "Lowest severity that notifies: CRITICAL, HIGH, MEDIUM, LOW or NONE."
  type        = string
  default     = "HIGH"
}

variable "acr_registry_ids" {
  description = "Resource ids of the Azure Container Registries the scanned workloads pull from (the app gets AcrPull)."
  type        = list(string)
  default     = []
}

variable "alert_emails" {
  description = "Email addresses for the alerts (poison queue, function failures, no scans); or set existing_action_group_id."
  type        = list(string)
  default     = []
}

variable "existing_action_group_id" {
  description = "Resource id of an existing action group for the alerts, instead of alert_emails."
  type        = string
  default     = null
}

variable "reconcile" {
  description = "The scheduled reconciler (modules/aci-aca `reconcile`): schedule, subscription_ids, lookback_days, max_pages, max_seconds, max_requests, never_scanned_alert; the module validates them."
  type = object({
    enabled             = optional(bool, true)
    schedule            = optional(string, "0 0 */6 * * *")
    subscription_ids    = optional(list(string), [])
    lookback_days       = optional(number, 7)
    max_pages           = optional(number, 1000)
    max_seconds         = optional(number, 540)
    max_requests        = optional(number, 500)
    never_scanned_alert = optional(bool, true)
  })
  default  = {}
  nullable = false
}

variable "spoke_subscription_ids" {
  description = "Spoke subscriptions that deliver to this hub (each applies environments/azure-spoke): the reconciler lists them too (unless reconcile.subscription_ids is set) and the reader role becomes assignable in each (at most 49)."
  type        = list(string)
  default     = []
}

variable "reader_scope" {
  description = "Scope of the reader role and its one hub-side assignment: null (this subscription; each spoke assigns it in its own) or a management group `/providers/Microsoft.Management/managementGroups/<id>` that holds this subscription and the spokes (assigned once there)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
