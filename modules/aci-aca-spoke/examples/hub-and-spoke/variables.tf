variable "hub_subscription_id" {
  description = "The hub subscription: the scanner runs there and scans its container deployments."
  type        = string
}

variable "spoke_subscription_id" {
  description = "A spoke subscription whose container deployments the hub scans."
  type        = string
}

variable "location" {
  description = "Azure region of the scanner and of the spoke's resource group."
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
