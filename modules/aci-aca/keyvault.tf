# The Qualys secret lives here; Terraform creates the vault, never the secret's value (it would land in state).
locals {
  # Versionless: the app reads the current version (QSCAN_QUALYS_SECRET_URI), so rotation needs no apply.
  qualys_secret_uri = "${azurerm_key_vault.this.vault_uri}secrets/${var.qualys_secret_name}"
}

resource "azurerm_key_vault" "this" {
  #checkov:skip=CKV_AZURE_109:the Function App has no VNet here and reaches the vault over its public endpoint; access is RBAC-only
  #checkov:skip=CKV_AZURE_189:the Function App has no VNet here and reaches the vault over its public endpoint; access is RBAC-only
  #checkov:skip=CKV2_AZURE_32:private endpoints need a VNet the module does not own
  name                       = "${local.base}-kv"
  resource_group_name        = var.resource_group_name
  location                   = var.location
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  sku_name                   = "standard"
  rbac_authorization_enabled = true
  purge_protection_enabled   = true
  soft_delete_retention_days = 90
  tags                       = local.tags
}
