# ------------------------------------------------------------------ where and what
variable "region" {
  description = "The hub's home region in the security account: the hub bus and every scanner live here; spokes in any region forward to it."
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

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-20 characters of lower-case letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "tags" {
  description = "Tags on every resource (provider default_tags; the modules add their own qscan:component tag)."
  type        = map(string)
  default     = {}
  nullable    = false
}

# ------------------------------------------------------------------ which spokes
variable "organization_id" {
  description = "AWS Organizations id (o-...): every account of the organization may forward to the hub bus (aws:PrincipalOrgID) and the scanners assume only spoke roles of the organization (aws:ResourceOrgID). null: only spoke_account_ids."
  type        = string
  default     = null

  # modules/aws-hub refuses this too; checked here so the plan names this root's variables.
  validation {
    condition     = var.organization_id != null || length(var.spoke_account_ids) > 0
    error_message = "Set organization_id, spoke_account_ids or both: with neither the hub bus admits no spoke at all."
  }
}

variable "spoke_account_ids" {
  description = "Spoke accounts admitted to the hub bus by account id (12 digits), in addition to or instead of the organization."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "spoke_role_name" {
  description = "Name of the read role in every spoke account (QSCAN_SPOKE_ROLE_NAME). null: `<name_prefix>-spoke-read`."
  type        = string
  default     = null
}

variable "spoke_external_id" {
  description = "ExternalId the scanners pass when assuming a spoke read role (QSCAN_SPOKE_EXTERNAL_ID), e.g. `<organization id>-qscan`."
  type        = string
}

# ------------------------------------------------------------------ artifacts from `make package`
variable "manifest_path" {
  description = "The artifact manifest written by `make package` (relative paths are relative to this directory). Artifact paths inside it are relative to the directory above the manifest's folder (the repository root)."
  type        = string
  default     = "../../dist/manifest.json"

  validation {
    condition     = can(jsondecode(file(var.manifest_path)).artifacts["aws-ecr"].sha256_base64) && can(jsondecode(file(var.manifest_path)).artifacts["aws-lambda"].sha256_base64) && can(jsondecode(file(var.manifest_path)).artifacts["aws-fargate"].sha256_base64)
    error_message = "No handler artifacts: the manifest is missing or lacks an \"aws-ecr\", \"aws-lambda\" or \"aws-fargate\" entry. Run `make package` in the repository root first (it writes dist/manifest.json), or point manifest_path at the manifest."
  }
}

variable "qscanner_layer_arn" {
  description = "Versioned ARN of an existing Lambda layer with qscanner at bin/qscanner. null: publish the layer built by `QSCANNER_BINARY=/path/to/qscanner make package` (the manifest's \"qscanner-layer\" artifact)."
  type        = string
  default     = null

  validation {
    condition     = var.qscanner_layer_arn == null || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", var.qscanner_layer_arn))
    error_message = "qscanner_layer_arn must be a versioned layer ARN (arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>)."
  }
  validation {
    condition     = !module.artifacts.manifest_found || var.qscanner_layer_arn != null || module.artifacts.qscanner_layer != null
    error_message = "No qscanner layer: build one with `QSCANNER_BINARY=/path/to/qscanner make package` (linux-amd64 binary from Qualys), or set qscanner_layer_arn to an existing layer version."
  }
}

# ------------------------------------------------------------------ Qualys secret and alerts
variable "create_qualys_secret" {
  description = "Create an empty Secrets Manager secret for the Qualys credentials (you put the value). false: pass qualys_secret_arn."
  type        = bool
  default     = true
}

variable "qualys_secret_arn" {
  description = "Existing Secrets Manager secret with the Qualys secret JSON; only when create_qualys_secret is false."
  type        = string
  default     = null
}

variable "qualys_secret_kms_key_arn" {
  description = "Customer managed KMS key of the existing secret in qualys_secret_arn (null: AWS managed key)."
  type        = string
  default     = null
}

variable "alert_email_addresses" {
  description = "E-mail addresses subscribed to the alerts topic (each must confirm the subscription)."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "log_retention_days" {
  description = "Retention of the scanners' CloudWatch log groups in days."
  type        = number
  default     = 365
}

# ------------------------------------------------------------------ what the scanners scan (every spoke)
variable "repository_include" {
  description = "Repository name patterns to scan in every spoke (`name`, `team-*`, `*/prod-*`); empty scans every repository. Not together with repository_exclude."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "repository_exclude" {
  description = "Repository name patterns never to scan (same syntax). Not together with repository_include."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "enable_cloudtrail_putimage" {
  description = "Also trigger on CloudTrail PutImage calls (spokes forward them too; they need a trail there)."
  type        = bool
  default     = false
}

variable "lambda_enable_tagging" {
  description = "The Lambda scanner tags scanned functions with the result; spokes' read roles then carry lambda:TagResource."
  type        = bool
  default     = false
}

variable "severity_threshold" {
  description = "Lowest finding severity that sends an alert: CRITICAL, HIGH, MEDIUM, LOW or NONE (failed scans always alert)."
  type        = string
  default     = "HIGH"
}

variable "maximum_concurrency" {
  description = "Most concurrent scans per scanner (Qualys limits concurrency; qscanner is heavy)."
  type        = number
  default     = 5
}

variable "max_receive_count" {
  description = "Deliveries of a push or deployment event before it moves to the dead-letter queue."
  type        = number
  default     = 3
}

variable "fargate_cluster_include" {
  description = "ECS cluster names (`name`, `team-*`) whose RunTask/CreateService/UpdateService calls are scanned; empty: every cluster. Not together with fargate_cluster_exclude."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "fargate_cluster_exclude" {
  description = "ECS cluster names never to scan (same syntax). Not together with fargate_cluster_include."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "fargate_family_include" {
  description = "Task definition families (`name`, `team-*`) whose RegisterTaskDefinition calls are scanned; empty: every family. Not together with fargate_family_exclude."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "fargate_family_exclude" {
  description = "Task definition families never to scan on RegisterTaskDefinition (same syntax). Not together with fargate_family_include."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "fargate_scanner_backend" {
  description = "How the Fargate workflow scans: `qscanner` (the task function runs qscanner from the qscanner layer; any registry) or `qualys-api` (the Qualys registry sensor; ECR images only)."
  type        = string
  default     = "qscanner"
  nullable    = false
}
