# ------------------------------------------------------------------ naming and placement
variable "name_prefix" {
  description = "Prefix of every name. Storage accounts drop the hyphens: `<name_prefix><name_suffix>data`, `<name_prefix><name_suffix>host`."
  type        = string
  default     = "qscan"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,9}$", var.name_prefix))
    error_message = "name_prefix must be 3-10 lower-case letters or digits, starting with a letter (it becomes part of storage account names)."
  }
}

variable "name_suffix" {
  description = "Short suffix that makes the globally unique names (storage accounts, Key Vault, Function App) unique, e.g. a few characters derived from the subscription id."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]{4,8}$", var.name_suffix))
    error_message = "name_suffix must be 4-8 lower-case letters or digits."
  }
}

variable "resource_group_name" {
  description = "Existing resource group that holds every resource of the scanner. Its writes are filtered out of the trigger (`string_not_begins_with` on the subject), besides the tag the app checks."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[-\\w._()]{0,89}[-\\w_()]$", var.resource_group_name))
    error_message = "resource_group_name must be 1-90 letters, digits, '-', '_', '.', '(' or ')' and must not end with '.'."
  }
}

variable "location" {
  description = "Azure region of the scanner's resources, e.g. `westeurope`."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]{3,40}$", var.location))
    error_message = "location must be an Azure region name in lower case without spaces (e.g. westeurope)."
  }
}

variable "tags" {
  description = "Tags for every resource. The module adds `qscan:component = aci-aca`: the app skips workloads that carry the `qscan:component` tag (its own)."
  type        = map(string)
  default     = {}
  nullable    = false
}

# ------------------------------------------------------------------ trigger: Event Grid
variable "existing_system_topic" {
  description = "The subscription's existing `Microsoft.Resources.Subscriptions` system topic (only one may exist per subscription), or null to create one. An existing topic must have a system-assigned identity: it delivers to the queue and dead-letters with it."
  type = object({
    name                = string
    resource_group_name = string
  })
  default = null
}

variable "excluded_subject_prefixes" {
  description = "More resource id prefixes whose writes never trigger a scan (e.g. `/subscriptions/<id>/resourceGroups/<rg>/`), matched case-insensitively against the event subject. The scanner's own resource group is always excluded. Event Grid allows 25 advanced-filter values in total: the three write operations and the scanner's group leave 21."
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

variable "event_max_delivery_attempts" {
  description = "How many times Event Grid tries to deliver an event to the queue before it dead-letters it to the blob container."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.event_max_delivery_attempts >= 1 && var.event_max_delivery_attempts <= 30 && floor(var.event_max_delivery_attempts) == var.event_max_delivery_attempts
    error_message = "event_max_delivery_attempts must be a whole number from 1 to 30."
  }
}

variable "event_time_to_live_minutes" {
  description = "How long Event Grid keeps retrying an undelivered event, in minutes, before it dead-letters it."
  type        = number
  default     = 1440
  nullable    = false

  validation {
    condition     = var.event_time_to_live_minutes >= 1 && var.event_time_to_live_minutes <= 1440 && floor(var.event_time_to_live_minutes) == var.event_time_to_live_minutes
    error_message = "event_time_to_live_minutes must be a whole number from 1 to 1440."
  }
}

# ------------------------------------------------------------------ trigger: Activity Log (optional)
variable "enable_activity_log_trigger" {
  description = "Also stream the subscription's Administrative Activity Log to an Event Hub the app reads (the alternative trigger: 10-15 minutes late; off by default, Event Grid is the trigger)."
  type        = bool
  default     = false
  nullable    = false
}

# ------------------------------------------------------------------ Function App
variable "handler_artifact" {
  description = "The Functions app package (`azure-functions` of `make package`): a local zip and its base64 SHA-256, deployed with zip deploy. The hash is recorded in the app's `qscan:package-sha256` tag."
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

variable "plan_sku" {
  description = "Elastic Premium plan size. Elastic Premium because it has zip deploy, identity-based host storage, a Key Vault reference identity, no execution time limit and 21+ GB of /tmp for qscanner (Linux Consumption gets no new features and retires in 2028; Flex Consumption's zip deploy is broken in azurerm 4.x: see the README)."
  type        = string
  default     = "EP1"
  nullable    = false

  validation {
    condition     = contains(["EP1", "EP2", "EP3"], var.plan_sku)
    error_message = "plan_sku must be EP1, EP2 or EP3."
  }
}

variable "maximum_elastic_worker_count" {
  description = "Most instances the plan scales out to (bounds concurrent qscanner runs together with queue_batch_size; Qualys limits concurrency)."
  type        = number
  default     = 3
  nullable    = false

  validation {
    condition     = var.maximum_elastic_worker_count >= 1 && var.maximum_elastic_worker_count <= 100 && floor(var.maximum_elastic_worker_count) == var.maximum_elastic_worker_count
    error_message = "maximum_elastic_worker_count must be a whole number from 1 to 100."
  }
}

variable "python_version" {
  description = "Python version of the Functions worker (the package is built for it)."
  type        = string
  default     = "3.11"
  nullable    = false

  validation {
    condition     = contains(["3.11", "3.12", "3.13"], var.python_version)
    error_message = "python_version must be 3.11, 3.12 or 3.13."
  }
}

variable "queue_batch_size" {
  description = "host.json `extensions.queues.batchSize`: messages one instance fetches and runs in parallel (each may run qscanner)."
  type        = number
  default     = 4
  nullable    = false

  validation {
    condition     = var.queue_batch_size >= 1 && var.queue_batch_size <= 32 && floor(var.queue_batch_size) == var.queue_batch_size
    error_message = "queue_batch_size must be a whole number from 1 to 32."
  }
}

variable "queue_max_dequeue_count" {
  description = "host.json `extensions.queues.maxDequeueCount`: scan attempts of a message before the host moves it to `<queue>-poison` (the app notifies a failure at the last attempt)."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.queue_max_dequeue_count >= 1 && var.queue_max_dequeue_count <= 100 && floor(var.queue_max_dequeue_count) == var.queue_max_dequeue_count
    error_message = "queue_max_dequeue_count must be a whole number from 1 to 100."
  }
}

variable "queue_visibility_timeout_seconds" {
  description = "host.json `extensions.queues.visibilityTimeout`: how long a failed message stays invisible before its retry (retries come in minutes, not hours)."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = var.queue_visibility_timeout_seconds >= 0 && var.queue_visibility_timeout_seconds <= 3600 && floor(var.queue_visibility_timeout_seconds) == var.queue_visibility_timeout_seconds
    error_message = "queue_visibility_timeout_seconds must be a whole number from 0 to 3600."
  }
}

variable "qscanner_path" {
  description = "QSCANNER_PATH: where the app finds qscanner in its package (it copies it to a temp dir and makes it executable: zip deploy drops the exec bit). The default is `bin/qscanner` of the `azure-functions` package (`make package` with QSCANNER_BINARY) under the app root of a Linux zip deployment."
  type        = string
  default     = "/home/site/wwwroot/bin/qscanner"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_./-]{1,255}$", var.qscanner_path)) && !strcontains(var.qscanner_path, "..")
    error_message = "qscanner_path must be a relative or absolute path of letters, digits, '_', '.', '/' and '-' without '..'."
  }
}

variable "severity_threshold" {
  description = "QSCAN_SEVERITY_THRESHOLD: lowest severity that sends a notification (failures always notify)."
  type        = string
  default     = "HIGH"
  nullable    = false

  validation {
    condition     = contains(["CRITICAL", "HIGH", "MEDIUM", "LOW", "NONE"], var.severity_threshold)
    error_message = "severity_threshold must be CRITICAL, HIGH, MEDIUM, LOW or NONE."
  }
}

variable "scan_timeout_seconds" {
  description = "QSCAN_SCAN_TIMEOUT_SECONDS: qscanner's timeout. host.json `functionTimeout` is this plus two minutes."
  type        = number
  default     = 600
  nullable    = false

  validation {
    condition     = var.scan_timeout_seconds >= 30 && var.scan_timeout_seconds <= 21600 && floor(var.scan_timeout_seconds) == var.scan_timeout_seconds
    error_message = "scan_timeout_seconds must be a whole number from 30 to 21600."
  }
}

# ------------------------------------------------------------------ access
variable "reader_scope" {
  description = "Scope of the custom reader role (container groups, container apps, jobs: read only) and its assignment: the subscription (`/subscriptions/<id>`, null: the current one) or a management group (`/providers/Microsoft.Management/managementGroups/<id>`)."
  type        = string
  default     = null

  validation {
    condition     = var.reader_scope == null || can(regex("^(/subscriptions/[0-9a-fA-F-]{36}|/providers/Microsoft\\.Management/managementGroups/[-\\w.()]{1,90})$", var.reader_scope))
    error_message = "reader_scope must be /subscriptions/<id> or /providers/Microsoft.Management/managementGroups/<id>."
  }
}

variable "acr_registry_ids" {
  description = "Resource ids of the Azure Container Registries whose images qscan scans: the app's identity gets AcrPull on each (tag → digest resolution and qscanner's pull)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.acr_registry_ids : can(regex("^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\\.ContainerRegistry/registries/[A-Za-z0-9]{5,50}$", id))])
    error_message = "acr_registry_ids entries must be registry resource ids (/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.ContainerRegistry/registries/<name>)."
  }
}

variable "registry_credentials_secret_name" {
  description = "Name of a Key Vault secret (in this module's vault) whose JSON maps a registry host to {username, password} for private registries other than ACR (QSCAN_REGISTRY_CREDENTIALS_SECRET_URI; docs/registry.md). Set its value outside Terraform, like the Qualys secret. null: those registries are read anonymously; ACR always uses the app's identity (acr_registry_ids)."
  type        = string
  default     = null

  validation {
    condition     = var.registry_credentials_secret_name == null || can(regex("^[0-9A-Za-z-]{1,127}$", var.registry_credentials_secret_name))
    error_message = "registry_credentials_secret_name must be 1-127 letters, digits or hyphens."
  }
}

variable "qualys_secret_name" {
  description = "Name of the Key Vault secret holding the Qualys secret JSON. Terraform never writes its value (it would land in state): set it with `az keyvault secret set` after apply."
  type        = string
  default     = "qualys"
  nullable    = false

  validation {
    condition     = can(regex("^[0-9A-Za-z-]{1,127}$", var.qualys_secret_name))
    error_message = "qualys_secret_name must be 1-127 letters, digits or hyphens."
  }
}

# ------------------------------------------------------------------ monitoring
variable "log_retention_days" {
  description = "Retention of the Log Analytics workspace behind Application Insights."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.log_retention_days >= 30 && var.log_retention_days <= 730 && floor(var.log_retention_days) == var.log_retention_days
    error_message = "log_retention_days must be a whole number from 30 to 730."
  }
}

variable "alert_emails" {
  description = "Email addresses of the action group the module creates for its alerts. Ignored when existing_action_group_id is set; one of the two is required."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for e in var.alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alert_emails entries must be email addresses."
  }
}

variable "existing_action_group_id" {
  description = "Resource id of an existing action group the alerts go to, instead of one made from alert_emails."
  type        = string
  default     = null

  validation {
    condition     = var.existing_action_group_id == null || can(regex("(?i)^/subscriptions/[0-9a-f-]{36}/resourceGroups/[^/]+/providers/microsoft\\.insights/actionGroups/[^/]+$", var.existing_action_group_id))
    error_message = "existing_action_group_id must be an action group resource id."
  }
}

variable "no_scan_alert_hours" {
  description = "Alert when the app has run no invocation for this many hours (1-6, 24 or 48: the windows Azure Monitor log alerts allow); 0 turns the alert off."
  type        = number
  default     = 24
  nullable    = false

  validation {
    condition     = contains([0, 1, 2, 3, 4, 5, 6, 24, 48], var.no_scan_alert_hours)
    error_message = "no_scan_alert_hours must be 0 (off), 1-6, 24 or 48."
  }
}

variable "scan_job" {
  description = "The optional ACI scan-job mode (QSCAN_AZURE_SCAN_MODE=aci-job), for scans longer than the function allows: each image is scanned in a container group of its own in the scanner resource group, started and deleted by the app (README: ACI scan-job mode). `image`: the scan-job image (handlers/azure/scan_job/Dockerfile; an ACR image needs its registry in acr_registry_ids, it is pulled with the app's identity); `cpu` cores 1-4 and `memory_gb` 1-16 per job; `check_delay_seconds` between the app's checks of a running job (1-3600)."
  type = object({
    enabled             = optional(bool, false)
    image               = optional(string)
    cpu                 = optional(number, 2)
    memory_gb           = optional(number, 4)
    check_delay_seconds = optional(number, 60)
  })
  default  = {}
  nullable = false

  validation {
    condition     = !var.scan_job.enabled || can(regex("^[a-z0-9][a-z0-9.-]*(:[0-9]{1,5})?/[a-z0-9._/-]{1,255}(:[A-Za-z0-9_.-]{1,128}|@sha256:[0-9a-f]{64})$", coalesce(var.scan_job.image, "-")))
    error_message = "scan_job.image must be set when scan_job.enabled, as registry/repository:tag or registry/repository@sha256:<digest>."
  }

  validation {
    condition     = var.scan_job.cpu >= 1 && var.scan_job.cpu <= 4 && floor(var.scan_job.cpu) == var.scan_job.cpu
    error_message = "scan_job.cpu must be a whole number of cores from 1 to 4."
  }

  validation {
    condition     = var.scan_job.memory_gb >= 1 && var.scan_job.memory_gb <= 16 && floor(var.scan_job.memory_gb) == var.scan_job.memory_gb
    error_message = "scan_job.memory_gb must be a whole number from 1 to 16."
  }

  validation {
    condition     = var.scan_job.check_delay_seconds >= 1 && var.scan_job.check_delay_seconds <= 3600 && floor(var.scan_job.check_delay_seconds) == var.scan_job.check_delay_seconds
    error_message = "scan_job.check_delay_seconds must be a whole number from 1 to 3600."
  }
}

variable "hosting" {
  description = "Function App hosting: `elastic_premium` (default: zip deploy from Terraform, no execution time limit, 21+ GB of /tmp) or `flex_consumption` (FC1: scales to zero; its package is deployed outside Terraform, `flex_deploy_command`; 0.8 GB of /tmp, so only small images fit: README: Flex Consumption)."
  type        = string
  default     = "elastic_premium"
  nullable    = false

  validation {
    condition     = contains(["elastic_premium", "flex_consumption"], var.hosting)
    error_message = "hosting must be elastic_premium or flex_consumption."
  }
}

variable "flex_consumption" {
  description = "Flex Consumption scale (hosting = \"flex_consumption\" only): `maximum_instance_count` 1-1000 and `instance_memory_in_mb` 2048 or 4096 per instance."
  type = object({
    maximum_instance_count = optional(number, 100)
    instance_memory_in_mb  = optional(number, 2048)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.flex_consumption.maximum_instance_count >= 1 && var.flex_consumption.maximum_instance_count <= 1000 && floor(var.flex_consumption.maximum_instance_count) == var.flex_consumption.maximum_instance_count
    error_message = "flex_consumption.maximum_instance_count must be a whole number from 1 to 1000."
  }

  validation {
    condition     = contains([2048, 4096], var.flex_consumption.instance_memory_in_mb)
    error_message = "flex_consumption.instance_memory_in_mb must be 2048 or 4096."
  }
}

variable "reconcile" {
  description = "The scheduled reconciler (README: Reconciler): `schedule` is the timer's six-field NCRONTAB (UTC); `subscription_ids` the subscriptions it lists (default: the module's and spoke_subscription_ids; each must be readable by the reader role: inside reader_scope or a spoke that assigns it); `lookback_days` how far back job executions count (1-90); `max_pages` list calls and `max_requests` scan requests per subscription and run (1-100000), `max_seconds` the run's wall time (10-600; the app gets at most functionTimeout less a minute); `never_scanned_alert` alerts when running images stay never scanned for a day. The rescan interval is the cache TTL (7 days)."
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

  validation {
    condition     = can(regex("^\\S+( \\S+){5}$", var.reconcile.schedule))
    error_message = "reconcile.schedule must be a six-field NCRONTAB expression ({second} {minute} {hour} {day} {month} {day-of-week}), e.g. \"0 0 */6 * * *\"."
  }

  validation {
    condition     = length(var.reconcile.subscription_ids) <= 50 && alltrue([for id in var.reconcile.subscription_ids : can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", lower(id)))])
    error_message = "reconcile.subscription_ids must be at most 50 subscription ids (GUIDs)."
  }

  validation {
    condition     = var.reconcile.lookback_days >= 1 && var.reconcile.lookback_days <= 90 && floor(var.reconcile.lookback_days) == var.reconcile.lookback_days
    error_message = "reconcile.lookback_days must be a whole number from 1 to 90."
  }

  validation {
    condition     = alltrue([for n in [var.reconcile.max_pages, var.reconcile.max_requests] : n >= 1 && n <= 100000 && floor(n) == n])
    error_message = "reconcile.max_pages and reconcile.max_requests must be whole numbers from 1 to 100000."
  }

  validation {
    condition     = var.reconcile.max_seconds >= 10 && var.reconcile.max_seconds <= 600 && floor(var.reconcile.max_seconds) == var.reconcile.max_seconds
    error_message = "reconcile.max_seconds must be a whole number from 10 to 600 (the run ends before the function's 12-minute timeout)."
  }
}

# ------------------------------------------------------------------ hub-spoke
variable "spoke_subscription_ids" {
  description = "Spoke subscriptions whose container writes reach this hub (each applies environments/azure-spoke with the `spoke_config` output). The reconciler lists them besides this subscription (unless `reconcile.subscription_ids` is set), and a subscription-scoped reader role becomes assignable in each (the spoke assigns it there); with reader_scope at a management group, that group must hold them."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = length(var.spoke_subscription_ids) <= 49 && alltrue([for id in var.spoke_subscription_ids : can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", lower(id)))])
    error_message = "spoke_subscription_ids must be at most 49 subscription ids (GUIDs): the reconciler lists at most 50 subscriptions with the hub's own."
  }
}
