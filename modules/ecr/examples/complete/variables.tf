variable "region" {
  description = "AWS region to scan ECR pushes in."
  type        = string
  default     = "eu-west-1"
}

variable "handler_artifact" {
  description = "The ECR handler zip from `make package` (dist/manifest.json: \"aws-ecr\"): local_path (+ source_code_hash) or s3_bucket + s3_key."
  type = object({
    local_path        = optional(string)
    source_code_hash  = optional(string)
    s3_bucket         = optional(string)
    s3_key            = optional(string)
    s3_object_version = optional(string)
  })
  nullable = false
}

variable "qscanner_layer_artifact" {
  description = "The qscanner layer zip (`QSCANNER_BINARY=/path/to/qscanner make package`: \"qscanner-layer\"), published by the module."
  type = object({
    local_path       = optional(string)
    source_code_hash = optional(string)
    s3_bucket        = optional(string)
    s3_key           = optional(string)
  })
  nullable = false
}

variable "alert_email_addresses" {
  description = "Who gets the findings and failure alerts (each address confirms its subscription)."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "organization_id" {
  description = "AWS Organizations id of the spoke accounts whose pushes reach this scanner (o-...)."
  type        = string
  default     = null
}
