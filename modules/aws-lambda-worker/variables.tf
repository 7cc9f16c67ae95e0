# What a platform module tells the worker about itself. The settings it passes through unchanged (and their
# validations) are in worker_settings.tf.

# ------------------------------------------------------------------ identity
variable "platform" {
  description = "The scanned platform (`ecr`, `lambda`, ...): names (`<name_prefix>-<platform>-scanner`, ...), the EMF `service` dimension and the results prefix `results/<platform>/` follow it."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,15}$", var.platform))
    error_message = "platform must be 2-16 lower-case letters and digits, starting with a letter."
  }
}

variable "descriptions" {
  description = "Texts that name the platform: `title` (alarm descriptions: \"qscan <title> scanner ...\"), `function` (function description), `role` (role description, the region is appended), `dead_letters` (what lands in the DLQ, e.g. \"Push events\") and `queued_event` (one queued item, e.g. \"push event\")."
  type = object({
    title        = string
    function     = string
    role         = string
    dead_letters = string
    queued_event = string
  })
  nullable = false
}

# ------------------------------------------------------------------ queue
variable "source_rule_arns" {
  description = "ARNs of the EventBridge rules that may send to the scan queue and the DLQ (the queue policies admit exactly these)."
  type        = list(string)
  nullable    = false
}

# ------------------------------------------------------------------ scanner function
variable "qscanner_layer_name" {
  description = "Name of the qscanner layer published from qscanner_layer_artifact."
  type        = string
}

variable "platform_environment" {
  description = "The platform's own handler settings (e.g. QSCAN_SELF_FUNCTION_NAMES); they win over core and extra variables, the common settings win over them. Null values are left out."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "platform_policy_statements" {
  description = "The platform's IAM statements as JSON arrays (`jsonencode([...])`, every statement with a Sid): `read` (what the scanner reads to scan, placed after the queue statements) and `optional` (feature grants, placed after the scan store statements). Common statements (logs, X-Ray, queue, store, secret, KMS, spoke role, VPC) are this module's."
  type = object({
    read     = string
    optional = optional(string, "[]")
  })
  nullable = false

  validation {
    condition = alltrue([
      for document in [var.platform_policy_statements.read, var.platform_policy_statements.optional] :
      try(alltrue([for statement in jsondecode(document) : length(statement.Sid) > 0 && contains(["Allow", "Deny"], statement.Effect)]), false)
    ])
    error_message = "platform_policy_statements.read and .optional must be JSON arrays of IAM statements, each with a Sid and an Effect."
  }
}
