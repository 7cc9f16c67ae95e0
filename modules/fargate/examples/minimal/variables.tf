variable "region" {
  description = "AWS region to scan ECS deployments in."
  type        = string
  default     = "eu-west-1"
}

variable "handler_zip" {
  description = "Path of the Fargate task-function zip that `make package` builds (dist/manifest.json lists it as \"aws-fargate\")."
  type        = string
}

variable "handler_zip_sha256" {
  description = "Base64 SHA-256 of the zip (the manifest's sha256_base64)."
  type        = string
}

variable "qscanner_layer_arn" {
  description = "Versioned ARN of a Lambda layer with qscanner at bin/qscanner (e.g. modules/ecr's qscanner_layer_version_arn)."
  type        = string
}
