# ------------------------------------------------------------------ where and what
variable "region" {
  description = "AWS region to deploy the scanner in (ECR push events are regional: deploy once per region you push to)."
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

# ------------------------------------------------------------------ artifacts from `make package`
variable "manifest_path" {
  description = "The artifact manifest written by `make package` (relative paths are relative to this directory). Artifact paths inside it are relative to the directory above the manifest's folder (the repository root)."
  type        = string
  default     = "../../dist/manifest.json"

  validation {
    condition     = can(jsondecode(file(var.manifest_path)).artifacts["aws-ecr"].sha256_base64)
    error_message = "No ECR handler artifact: the manifest is missing or has no \"aws-ecr\" entry. Run `make package` in the repository root first (it writes dist/manifest.json), or point manifest_path at the manifest."
  }
  validation {
    condition     = !can(file(var.manifest_path)) || can(jsondecode(file(var.manifest_path)).artifacts["aws-lambda"].sha256_base64)
    error_message = "No Lambda handler artifact: the manifest has no \"aws-lambda\" entry (written by an older `make package`). Run `make package` in the repository root again."
  }
  validation {
    condition     = !can(file(var.manifest_path)) || can(jsondecode(file(var.manifest_path)).artifacts["aws-fargate"].sha256_base64)
    error_message = "No Fargate task function artifact: the manifest has no \"aws-fargate\" entry (written by an older `make package`). Run `make package` in the repository root again."
  }
  validation {
    condition     = !can(file(var.manifest_path)) || can(jsondecode(file(var.manifest_path)).artifacts["aws-reconciler"].sha256_base64)
    error_message = "No reconciler artifact: the manifest has no \"aws-reconciler\" entry (written by an older `make package`). Run `make package` in the repository root again."
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
    # Only judged once the manifest is readable (the manifest_path validation reports a missing one).
    condition     = !module.artifacts.manifest_found || var.qscanner_layer_arn != null || module.artifacts.qscanner_layer != null
    error_message = "No qscanner layer: build one with `QSCANNER_BINARY=/path/to/qscanner make package` (linux-amd64 binary from Qualys), or set qscanner_layer_arn to an existing layer version."
  }
}

# ------------------------------------------------------------------ Qualys secret and alerts
variable "create_qualys_secret" {
  description = "Create an empty Secrets Manager secret for the Qualys credentials (you put the value; see README). false: pass qualys_secret_arn."
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
  description = "Retention of the scanner's CloudWatch log group in days."
  type        = number
  default     = 365
}

# ------------------------------------------------------------------ Lambda and Fargate scanning: the CloudTrail trail
variable "create_trail" {
  description = "Create a trail recording write-only management events so Lambda CreateFunction/UpdateFunction* and ECS RegisterTaskDefinition/RunTask/CreateService/UpdateService calls reach EventBridge. null (default): create one unless existing_trail_arn is set. false without existing_trail_arn stops the plan: without a trail no Lambda or ECS deployment is ever scanned."
  type        = bool
  default     = null

  validation {
    condition     = var.create_trail != false || var.existing_trail_arn != null
    error_message = "create_trail = false needs existing_trail_arn: Lambda and ECS CloudTrail events reach EventBridge only while a trail records write management events (name the trail that does, e.g. the organization trail)."
  }
  validation {
    condition     = var.create_trail != true || var.existing_trail_arn == null
    error_message = "Set create_trail or existing_trail_arn, not both."
  }
}

variable "existing_trail_arn" {
  description = "ARN of a trail that already records this account's write management events in this region (e.g. the organization trail); no trail is created then (a second trail of the same events is billed)."
  type        = string
  default     = null
}

variable "trail_multi_region" {
  description = "Make the created trail multi-region (scanning still covers this region only)."
  type        = bool
  default     = false
}

variable "trail_bucket_force_destroy" {
  description = "Let `terraform destroy` delete the created trail's log bucket with its log files."
  type        = bool
  default     = false
}

variable "lambda_bulk_scan_schedule_expression" {
  description = "Optional schedule (rate(...) or cron(...)) for a bulk scan of every Lambda function in the region; null: none."
  type        = string
  default     = null
}

# ------------------------------------------------------------------ ECR scanning
variable "repository_include" {
  description = "Repository name patterns to scan (`name`, `team-*`, `*/prod-*`); empty scans every repository. Not together with repository_exclude."
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
  description = "Also trigger on CloudTrail PutImage calls (needs a trail recording management events)."
  type        = bool
  default     = false
}

variable "severity_threshold" {
  description = "Lowest finding severity that sends an alert (ECR, Lambda and Fargate): CRITICAL, HIGH, MEDIUM, LOW or NONE (failed scans always alert)."
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

variable "organization_id" {
  description = "AWS Organizations id (o-...) of this account's organization: limits the Lambda scanner's image pulls from other accounts' ECR repositories (container-image functions built in a shared account) and any spoke-role assumption to the organization (aws:ResourceOrgID). null: no organization condition."
  type        = string
  default     = null

  validation {
    condition     = var.organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))
    error_message = "organization_id must be null or an AWS Organizations id such as o-a1b2c3d4e5."
  }
}

# ------------------------------------------------------------------ Fargate/ECS scanning
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

# ------------------------------------------------------------------ reconciler
variable "enable_reconciler" {
  description = "Deploy the scheduled reconciler (modules/reconciler-aws): lists ECR pushes, running ECS tasks and Lambda functions and requests scans of what the store has not seen or saw longer ago than the cache TTL. On by default: event delivery is best-effort, and running workloads need rescans."
  type        = bool
  default     = true
  nullable    = false
}

variable "reconciler_schedule_expression" {
  description = "When the reconciler runs (EventBridge Scheduler rate(...) or cron(...))."
  type        = string
  default     = "rate(1 hour)"
  nullable    = false
}
