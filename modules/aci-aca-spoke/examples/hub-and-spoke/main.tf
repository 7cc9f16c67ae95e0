# A hub and one spoke in one root, to show the wiring: each subscription has its own azurerm provider
# (Terraform cannot iterate providers) and the spoke reads the hub's spoke_config. For many spokes, apply
# environments/azure-spoke once per spoke subscription instead. In your own repository, source the modules
# from git (e.g. "git::https://<host>/qscan.git//modules/aci-aca-spoke?ref=<tag>").
provider "azurerm" {
  features {}
  subscription_id     = var.hub_subscription_id
  storage_use_azuread = true # the hub's storage accounts have no shared keys
}

provider "azurerm" {
  alias = "spoke"
  features {}
  subscription_id = var.spoke_subscription_id
}

resource "azurerm_resource_group" "scanner" {
  name     = "rg-qscan"
  location = var.location
}

module "hub" {
  source = "../../../aci-aca"

  name_suffix            = var.name_suffix
  resource_group_name    = azurerm_resource_group.scanner.name
  location               = azurerm_resource_group.scanner.location
  handler_artifact       = { local_path = var.handler_zip, source_code_hash = var.handler_zip_sha256 }
  alert_emails           = var.alert_emails
  spoke_subscription_ids = [var.spoke_subscription_id]
}

resource "azurerm_resource_group" "spoke" {
  provider = azurerm.spoke

  name     = "rg-qscan-spoke"
  location = var.location
}

module "spoke" {
  source    = "../.."
  providers = { azurerm = azurerm.spoke }

  hub                 = module.hub.spoke_config
  resource_group_name = azurerm_resource_group.spoke.name
}
