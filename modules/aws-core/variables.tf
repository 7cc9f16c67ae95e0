variable "name_prefix" {
  description = "Prefix of every resource name. Globally named resources (bucket, IAM) add the account and/or region after it, so one prefix can be deployed in several regions."
  type        = string
  default     = "qscan"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-20 characters of lower-case letters, digits and hyphens, start with a letter and not end with a hyphen (it becomes part of S3 bucket and IAM names)."
  }
}

variable "tags" {
  description = "Tags added to every resource this module creates."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups the platform modules create (exported as an output). 0 keeps logs forever."
  type        = number
  default     = 365

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts: 0 (never expire), 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "kms_key_deletion_window_days" {
  description = "Waiting period before the KMS key is deleted after a destroy."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_days >= 7 && var.kms_key_deletion_window_days <= 30 && floor(var.kms_key_deletion_window_days) == var.kms_key_deletion_window_days
    error_message = "kms_key_deletion_window_days must be a whole number from 7 to 30."
  }
}

variable "results_noncurrent_version_expiration_days" {
  description = "Days after which overwritten (noncurrent) versions of scan results are deleted."
  type        = number
  default     = 90

  validation {
    condition     = var.results_noncurrent_version_expiration_days >= 1 && floor(var.results_noncurrent_version_expiration_days) == var.results_noncurrent_version_expiration_days
    error_message = "results_noncurrent_version_expiration_days must be a whole number of at least 1."
  }
}

variable "results_expiration_days" {
  description = "Days after which current scan results expire; null keeps them until deleted."
  type        = number
  default     = null

  validation {
    condition     = var.results_expiration_days == null || try(var.results_expiration_days >= 1 && floor(var.results_expiration_days) == var.results_expiration_days, false)
    error_message = "results_expiration_days must be null or a whole number of at least 1."
  }
}

variable "results_bucket_force_destroy" {
  description = "Allow `terraform destroy` to delete the results bucket with its objects (test and demo environments)."
  type        = bool
  default     = false
}

variable "results_access_logging" {
  description = "S3 server access logging for the results bucket: an existing log bucket you own and a key prefix. null disables it."
  type = object({
    target_bucket = string
    target_prefix = optional(string, "qscan-results/")
  })
  default = null

  validation {
    condition     = var.results_access_logging == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.results_access_logging.target_bucket))
    error_message = "results_access_logging.target_bucket must be an S3 bucket name (not an ARN)."
  }
}

variable "dedupe_table_deletion_protection" {
  description = "Turn on DynamoDB deletion protection for the dedupe table (switch off in throw-away environments)."
  type        = bool
  default     = true
}

variable "create_qualys_secret" {
  description = "Create an empty Secrets Manager secret for the Qualys access token (you put the value; Terraform never holds it). false: pass qualys_secret_arn."
  type        = bool
  default     = true
}

variable "qualys_secret_arn" {
  description = "ARN of an existing Secrets Manager secret holding the Qualys access token; required when create_qualys_secret is false, ignored otherwise."
  type        = string
  default     = null

  validation {
    condition     = var.qualys_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$", var.qualys_secret_arn))
    error_message = "qualys_secret_arn must be a Secrets Manager secret ARN (arn:<partition>:secretsmanager:<region>:<account>:secret:<name>)."
  }
}

variable "qualys_secret_kms_key_arn" {
  description = "Customer managed KMS key that encrypts the existing secret in qualys_secret_arn, so scanners may decrypt it; null when it uses the AWS managed key."
  type        = string
  default     = null

  validation {
    condition     = var.qualys_secret_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.qualys_secret_kms_key_arn))
    error_message = "qualys_secret_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "qualys_secret_recovery_window_days" {
  description = "Recovery window of the created Qualys secret after a destroy: 0 deletes at once, otherwise 7-30 days."
  type        = number
  default     = 30

  validation {
    condition     = var.qualys_secret_recovery_window_days == 0 || (var.qualys_secret_recovery_window_days >= 7 && var.qualys_secret_recovery_window_days <= 30)
    error_message = "qualys_secret_recovery_window_days must be 0 or from 7 to 30."
  }
}

variable "alert_email_addresses" {
  description = "E-mail addresses subscribed to the alerts topic (each must confirm the subscription)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for address in var.alert_email_addresses : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", address))])
    error_message = "Every entry of alert_email_addresses must be an e-mail address."
  }
}
