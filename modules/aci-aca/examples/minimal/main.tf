# The smallest ACI/ACA scanner in one subscription: a resource group and the module with its defaults. In your
# own repository, source the module from git (e.g. "git::https://<host>/qscan.git//modules/aci-aca?ref=<tag>").
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
}
