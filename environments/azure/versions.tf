# Terraform >= 1.9: variable validations that refer to other values (the manifest).
# hashicorp/azurerm pinned to the 4.55 line the module is schema-checked against (`make azurerm-check`).
terraform {
  required_version = ">= 1.9"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.55.0"
    }
  }
}
