variable "region" {
  description = "AWS region to scan Lambda deployments in."
  type        = string
  default     = "eu-west-1"
}

variable "handler_artifact" {
  description = "The Lambda-scanner handler zip from `make package` (dist/manifest.json: \"aws-lambda\"): local_path (+ source_code_hash) or s3_bucket + s3_key."
  type = object({
    local_path        = optional(string)
    source_code_hash  = optional(string)
    s3_bucket         = optional(string)
    s3_key            = optional(string)
    s3_object_version = optional(string)
  })
  nullable = false
}

variable "qscanner_layer_arn" {
  description = "Versioned ARN of a Lambda layer with qscanner at bin/qscanner."
  type        = string
}

variable "organization_trail_arn" {
  description = "The organization trail that already records this account's write management events (no second trail is created)."
  type        = string
}

variable "organization_id" {
  description = "AWS Organizations id (o-...): image pulls of container-image functions and the spoke role stay inside it."
  type        = string
}

variable "other_qscan_function_names" {
  description = "Exact names of further qscan functions in this account and region (e.g. the ECR scanner) that are never scanned."
  type        = list(string)
  default     = []
  nullable    = false
}
