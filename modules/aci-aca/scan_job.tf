# The optional ACI scan-job mode (var.scan_job; README: ACI scan-job mode). The app creates one container group
# per image in the scanner resource group, running as the app's own identity, and deletes it after the scan.
# The job groups' write events are dropped twice: the event subscription filters the scanner resource group out
# by subject (modules/aci-aca-spoke, which events.tf calls), and the app skips them by their qscan:component tag.

locals {
  scan_job_settings = var.scan_job.enabled ? {
    QSCAN_AZURE_SCAN_MODE              = "aci-job"
    QSCAN_SCAN_JOB_IMAGE               = var.scan_job.image
    QSCAN_SCAN_JOB_RESOURCE_GROUP_ID   = local.scanner_resource_group_id
    QSCAN_SCAN_JOB_IDENTITY_ID         = azurerm_user_assigned_identity.this.id
    QSCAN_SCAN_JOB_LOCATION            = var.location
    QSCAN_SCAN_JOB_CPU                 = tostring(var.scan_job.cpu)
    QSCAN_SCAN_JOB_MEMORY_GB           = tostring(var.scan_job.memory_gb)
    QSCAN_SCAN_JOB_CHECK_DELAY_SECONDS = tostring(var.scan_job.check_delay_seconds)
    QSCAN_STORAGE_QUEUE_URL            = trimsuffix(azurerm_storage_account.data.primary_queue_endpoint, "/")
  } : {}
}

# Create, watch and delete the job container groups: in the scanner resource group only.
resource "azurerm_role_definition" "scan_job" {
  count = var.scan_job.enabled ? 1 : 0

  name        = "${local.base} scan job runner"
  scope       = local.scanner_resource_group_id
  description = "qscan: create, read and delete the scan-job container groups in the scanner resource group"

  permissions {
    actions = [
      "Microsoft.ContainerInstance/containerGroups/write",
      "Microsoft.ContainerInstance/containerGroups/read",
      "Microsoft.ContainerInstance/containerGroups/delete",
    ]
  }

  assignable_scopes = [local.scanner_resource_group_id]
}

resource "azurerm_role_assignment" "app_scan_jobs" {
  count = var.scan_job.enabled ? 1 : 0

  scope              = local.scanner_resource_group_id
  role_definition_id = azurerm_role_definition.scan_job[0].role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.this.principal_id
  principal_type     = "ServicePrincipal"
  description        = "qscan: create, read and delete scan-job container groups"
}

# A container group that runs as a user-assigned identity needs its creator to hold assign/action on that
# identity: granted on the app's own identity only, not on the resource group's others.
resource "azurerm_role_definition" "scan_job_identity" {
  count = var.scan_job.enabled ? 1 : 0

  name        = "${local.base} scan job identity assigner"
  scope       = local.scanner_resource_group_id
  description = "qscan: let the app run its scan-job container groups as its own user-assigned identity"

  permissions {
    actions = ["Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"]
  }

  assignable_scopes = [local.scanner_resource_group_id]
}

resource "azurerm_role_assignment" "app_scan_job_identity" {
  count = var.scan_job.enabled ? 1 : 0

  scope              = azurerm_user_assigned_identity.this.id
  role_definition_id = azurerm_role_definition.scan_job_identity[0].role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.this.principal_id
  principal_type     = "ServicePrincipal"
  description        = "qscan: assign the app's identity to its scan-job container groups"
}
