variable "region" {
  description = "Region the moto server emulates (the harness's default is us-east-1)."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name on the moto server."
  type        = string
  default     = "qscan-local"
}

variable "manifest_path" {
  description = "The artifact manifest written by `make package` (relative to this directory); artifact paths in it are relative to the directory above the manifest's folder."
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
}

variable "qscanner_path" {
  description = "QSCANNER_PATH recorded in the ECR, Lambda and Fargate functions' configuration. The functions never run on moto (no Docker): scripts/demo.py runs the handler on this machine with the simulated scanner instead."
  type        = string
  default     = "/opt/bin/qscanner"
}

variable "repository_include" {
  description = "Repository name patterns to scan (see modules/ecr); empty scans every repository."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "repository_exclude" {
  description = "Repository name patterns never to scan (see modules/ecr). Not together with repository_include."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "max_receive_count" {
  description = "Deliveries of a push event before it moves to the dead-letter queue (small, so the demo shows the redrive quickly)."
  type        = number
  default     = 2
}

variable "severity_threshold" {
  description = "Lowest finding severity that sends an alert: CRITICAL, HIGH, MEDIUM, LOW or NONE."
  type        = string
  default     = "HIGH"
}

variable "enable_reconciler" {
  description = "Apply the scheduled reconciler (modules/reconciler-aws) too (the demo does, and invokes it once itself)."
  type        = bool
  default     = false
  nullable    = false
}
