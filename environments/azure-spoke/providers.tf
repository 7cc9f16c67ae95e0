# Terraform cannot iterate providers: one apply of this root (its own state) per spoke subscription.
provider "azurerm" {
  features {}

  subscription_id = var.subscription_id
}
