data "azurerm_client_config" "current" {}

locals {
  subscription_id = data.azurerm_client_config.current.subscription_id
  base            = "${var.name_prefix}-${var.name_suffix}"
  tags            = merge(var.tags, { "qscan:component" = "aci-aca" })

  scanner_resource_group_id  = "/subscriptions/${local.subscription_id}/resourceGroups/${var.resource_group_name}"
  reader_scope               = coalesce(var.reader_scope, "/subscriptions/${local.subscription_id}")
  reader_at_management_group = startswith(local.reader_scope, "/providers/Microsoft.Management/managementGroups/")
  # A subscription-scoped reader role is assigned in each spoke subscription too (modules/aci-aca-spoke), so
  # it must be assignable there; one at a management group is assigned there once and covers its spokes.
  reader_assignable_scopes = local.reader_at_management_group ? [local.reader_scope] : distinct(concat(
    [local.reader_scope],
    [for id in var.spoke_subscription_ids : "/subscriptions/${lower(id)}"],
  ))
}

# The one identity of the app: ARM reads, storage data, Key Vault, AcrPull, notifications (rbac.tf).
resource "azurerm_user_assigned_identity" "this" {
  name                = "${local.base}-app"
  location            = var.location
  resource_group_name = var.resource_group_name
  tags                = local.tags
}
