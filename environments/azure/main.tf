# qscan for one Azure subscription: Container Instances, Container Apps and Container Apps jobs deployed in the
# subscription are scanned by the Functions app of modules/aci-aca (Event Grid → Storage Queue → Function).
# It is also the hub of other subscriptions: each spoke applies environments/azure-spoke with the spoke_config
# output, and spoke_subscription_ids lists them (reconciler, reader role).

# The Functions app package (a placeholder before `make package`: var.manifest_path's validation stops a plan
# with a clear message when the manifest or its "azure-functions" entry is missing).
module "artifacts" {
  source = "../../modules/artifact-manifest"

  manifest_path = var.manifest_path
  names         = ["azure-functions"]
}

locals {
  handler_artifact = module.artifacts.handler_artifacts["azure-functions"]
  tags             = merge(var.tags, { "qscan:environment" = "azure" })
}

resource "azurerm_resource_group" "this" {
  name     = var.resource_group_name
  location = var.location
  tags     = local.tags
}

module "aci_aca" {
  source = "../../modules/aci-aca"

  name_prefix         = var.name_prefix
  name_suffix         = var.name_suffix
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  tags                = local.tags

  existing_system_topic       = var.existing_system_topic
  excluded_subject_prefixes   = var.excluded_subject_prefixes
  enable_activity_log_trigger = var.enable_activity_log_trigger

  handler_artifact   = local.handler_artifact
  plan_sku           = var.plan_sku
  hosting            = var.hosting
  flex_consumption   = var.flex_consumption
  scan_job           = var.scan_job
  severity_threshold = var.severity_threshold
  acr_registry_ids   = var.acr_registry_ids
  reader_scope       = var.reader_scope

  alert_emails             = var.alert_emails
  existing_action_group_id = var.existing_action_group_id

  reconcile              = var.reconcile
  spoke_subscription_ids = var.spoke_subscription_ids
}
