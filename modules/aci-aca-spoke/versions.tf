# Terraform >= 1.5: optional() object attributes and lifecycle postconditions.
# hashicorp/azurerm >= 4.20, < 5.0, the range of modules/aci-aca (which calls this module for its own
# subscription). Checked against the azurerm 4.55.0 schema (`make azurerm-check`): the provider cannot be
# installed offline, so `make validate` skips this module.
terraform {
  required_version = ">= 1.5"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.20, < 5.0"
    }
  }
}
