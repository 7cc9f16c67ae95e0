variable "region" {
  description = "AWS region to scan Lambda deployments in."
  type        = string
  default     = "eu-west-1"
}

variable "handler_zip" {
  description = "Path of the Lambda-scanner handler zip that `make package` builds (dist/manifest.json lists it as \"aws-lambda\")."
  type        = string
}

variable "handler_zip_sha256" {
  description = "Base64 SHA-256 of the zip (the manifest's sha256_base64); null computes it from the file."
  type        = string
  default     = null
}

variable "qscanner_layer_arn" {
  description = "Versioned ARN of a Lambda layer with qscanner at bin/qscanner."
  type        = string
}
