provider "azurerm" {
  features {
    key_vault {
      # Purge protection is on: a destroyed vault stays recoverable for its retention; never purge it.
      purge_soft_delete_on_destroy = false
    }
  }

  subscription_id = var.subscription_id
  # The storage accounts have no shared keys: queues, containers and the dedupe table are created with Entra ID.
  storage_use_azuread = true
}
