# Terraform >= 1.5: optional() object attributes, startswith()/endswith() and lifecycle preconditions.
# hashicorp/azurerm >= 4.20, < 5.0: storage queues and containers by storage_account_id (ARM, no data-plane key),
# rbac_authorization_enabled on Key Vault, content_share_force_disabled and zip_deploy_file on
# azurerm_linux_function_app. Checked against the azurerm 4.55.0 schema (`make azurerm-check`): the provider
# cannot be installed offline, so `make validate` skips this module.
terraform {
  required_version = ">= 1.5"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.20, < 5.0"
    }
  }
}
