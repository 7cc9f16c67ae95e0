variable "name" {
  description = "Base name: the trail is `<name>-<region>`, its log bucket `<name>-<account>-<region>`, its key alias `alias/<name>`. Changing it replaces the trail, bucket and key (environments/aws-single-account keeps `<name_prefix>-lambda-trail`, the names the trail had inside modules/lambda)."
  type        = string
  nullable    = false

  validation {
    # The bucket name adds 12 + 1 + up to 14 (region) + 1 characters and must stay within 63.
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,33}[a-z0-9]$", var.name))
    error_message = "name must be 3-35 lower-case letters, digits or hyphens, starting and ending with a letter or digit (it prefixes an S3 bucket name)."
  }
}

variable "multi_region" {
  description = "Make the trail multi-region (also records global service events). qscan rules still only see calls in their own region; deploy the scanners per region to scan there."
  type        = bool
  default     = false
  nullable    = false
}

variable "log_retention_days" {
  description = "Days the trail's log files are kept in its bucket (noncurrent versions: 30 days more)."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = var.log_retention_days >= 1 && floor(var.log_retention_days) == var.log_retention_days
    error_message = "log_retention_days must be a whole number of at least 1."
  }
}

variable "bucket_force_destroy" {
  description = "Allow `terraform destroy` to delete the trail's bucket with its log files (test and demo environments)."
  type        = bool
  default     = false
  nullable    = false
}

variable "kms_key_deletion_window_days" {
  description = "Waiting period before the trail's KMS key is deleted after a destroy."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.kms_key_deletion_window_days >= 7 && var.kms_key_deletion_window_days <= 30 && floor(var.kms_key_deletion_window_days) == var.kms_key_deletion_window_days
    error_message = "kms_key_deletion_window_days must be a whole number from 7 to 30."
  }
}

variable "tags" {
  description = "Tags for every resource (the module adds `qscan:component = trail`)."
  type        = map(string)
  default     = {}
  nullable    = false
}
