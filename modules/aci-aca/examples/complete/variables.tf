variable "subscription_id" {
  description = "The subscription to scan container deployments in."
  type        = string
}

variable "location" {
  description = "Azure region of the scanner."
  type        = string
  default     = "westeurope"
}

variable "name_suffix" {
  description = "4-8 lower-case letters or digits that make the global names unique."
  type        = string
}

variable "handler_zip" {
  description = "Path of the Functions app zip that `make package` builds (dist/manifest.json lists it as \"azure-functions\")."
  type        = string
}

variable "handler_zip_sha256" {
  description = "Base64 SHA-256 of the zip (the manifest's sha256_base64)."
  type        = string
}

variable "alert_emails" {
  description = "Who gets the alerts (poison queue, function failures, no scans)."
  type        = list(string)
}

variable "acr_id" {
  description = "Resource id of the ACR holding the scan-job image (and images to scan): the app's identity gets AcrPull."
  type        = string
}

variable "scan_job_image" {
  description = "The scan-job image built from handlers/azure/scan_job/Dockerfile, e.g. myacr.azurecr.io/qscan/scan-job:1.0."
  type        = string
}
