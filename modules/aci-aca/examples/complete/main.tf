# Every option of the module beside its defaults: Flex Consumption hosting (its package deployed with the
# `flex_deploy_command` output after apply), the ACI scan-job mode for long scans (the scan-job image in an ACR
# the app's identity pulls from), the Activity Log trigger and a private registry secret. In your own
# repository, source the module from git (e.g. "git::https://<host>/qscan.git//modules/aci-aca?ref=<tag>").
provider "azurerm" {
  features {}
  subscription_id     = var.subscription_id
  storage_use_azuread = true # the storage accounts have no shared keys
}

resource "azurerm_resource_group" "scanner" {
  name     = "rg-qscan"
  location = var.location
}

module "aci_aca" {
  source = "../.."

  name_suffix         = var.name_suffix
  resource_group_name = azurerm_resource_group.scanner.name
  location            = azurerm_resource_group.scanner.location
  handler_artifact    = { local_path = var.handler_zip, source_code_hash = var.handler_zip_sha256 }
  alert_emails        = var.alert_emails

  hosting          = "flex_consumption"
  flex_consumption = { maximum_instance_count = 40, instance_memory_in_mb = 4096 }

  acr_registry_ids = [var.acr_id]
  scan_job = {
    enabled   = true
    image     = var.scan_job_image
    cpu       = 2
    memory_gb = 8
  }

  enable_activity_log_trigger      = true
  registry_credentials_secret_name = "registry-credentials"
}
