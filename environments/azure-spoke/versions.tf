# Terraform >= 1.5: optional() object attributes (modules/aci-aca-spoke).
# hashicorp/azurerm pinned to the 4.55 line the module is schema-checked against (`make azurerm-check`).
terraform {
  required_version = ">= 1.5"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.55.0"
    }
  }
}
