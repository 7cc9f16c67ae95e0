data "azurerm_client_config" "current" {}

locals {
  subscription_id = data.azurerm_client_config.current.subscription_id
  base            = "${var.name_prefix}-${var.name_suffix}"
  tags            = merge(var.tags, { "qscan:component" = "aci-aca" })

  scanner_resource_group_id = "/subscriptions/${local.subscription_id}/resourceGroups/${var.resource_group_name}"
  reader_scope              = coalesce(var.reader_scope, "/subscriptions/${local.subscription_id}")

  # The writes that deploy containers: Event Grid's string_in on data.operationName (case-insensitive).
  write_operations = [
    "Microsoft.ContainerInstance/containerGroups/write",
    "Microsoft.App/containerApps/write",
    "Microsoft.App/jobs/write",
  ]
  # The trailing slash keeps `rg-qscan` from excluding `rg-qscan2`.
  excluded_subject_prefixes = concat(["${local.scanner_resource_group_id}/"], var.excluded_subject_prefixes)
}

# The one identity of the app: ARM reads, storage data, Key Vault, AcrPull, notifications (rbac.tf).
resource "azurerm_user_assigned_identity" "this" {
  name                = "${local.base}-app"
  location            = var.location
  resource_group_name = var.resource_group_name
  tags                = local.tags
}
