# qscan spoke subscription: its Container Instances, Container Apps and jobs writes go to the hub's scan queue
# (environments/azure), where the hub's Functions app scans them. Apply the hub first (README: order of apply).

locals {
  tags = merge(var.tags, { "qscan:environment" = "azure-spoke", "qscan:component" = "aci-aca-spoke" })
}

resource "azurerm_resource_group" "this" {
  name     = var.resource_group_name
  location = var.location
  tags     = local.tags
}

module "spoke" {
  source = "../../modules/aci-aca-spoke"

  hub                       = var.hub
  resource_group_name       = azurerm_resource_group.this.name
  existing_system_topic     = var.existing_system_topic
  excluded_subject_prefixes = var.excluded_subject_prefixes
  tags                      = local.tags
}
