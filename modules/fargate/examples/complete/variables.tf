variable "region" {
  description = "AWS region to scan ECS deployments in."
  type        = string
  default     = "eu-west-1"
}

variable "name_prefix" {
  description = "Prefix of every name."
  type        = string
  default     = "secscan"
}

variable "handler_zip" {
  description = "Path of the Fargate task-function zip that `make package` builds (dist/manifest.json lists it as \"aws-fargate\")."
  type        = string
}

variable "handler_zip_sha256" {
  description = "Base64 SHA-256 of the zip (the manifest's sha256_base64)."
  type        = string
}

variable "organization_trail_arn" {
  description = "The organization trail that already records this account's write management events (no second trail is created)."
  type        = string
}

variable "spoke_role_name" {
  description = "Read role in the spoke accounts (with read_policy_json attached)."
  type        = string
  default     = "qscan-read"
}

variable "spoke_external_id" {
  description = "ExternalId the spoke roles require."
  type        = string
  default     = null
}
