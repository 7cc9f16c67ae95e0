# Least privilege for the app's user-assigned identity. tests/unit/test_aci_aca_module.py names the reason of
# every assignment; one added or removed without its reason fails there.

# Resource events carry no container list: the app reads the images of container groups, container apps and
# jobs through ARM, and nothing else; the reconciler lists the same (list calls need the same read actions) and
# the executions of jobs.
resource "azurerm_role_definition" "reader" {
  name        = "${local.base} container image reader"
  scope       = local.reader_scope
  description = "qscan: read container groups, container apps, jobs and job executions to find the images they run"

  permissions {
    actions = [
      "Microsoft.ContainerInstance/containerGroups/read",
      "Microsoft.App/containerApps/read",
      "Microsoft.App/jobs/read",
      "Microsoft.App/jobs/executions/read", # the reconciler: a job's executions carry per-execution images
    ]
  }

  assignable_scopes = local.reader_assignable_scopes
}

resource "azurerm_role_assignment" "app_reader" {
  scope              = local.reader_scope
  role_definition_id = azurerm_role_definition.reader.role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.this.principal_id
  principal_type     = "ServicePrincipal"
  description        = "qscan: read the images of container groups, container apps and jobs"
}

resource "azurerm_role_assignment" "app_acr_pull" {
  for_each = toset(var.acr_registry_ids)

  scope                = each.value
  role_definition_name = "AcrPull"
  principal_id         = azurerm_user_assigned_identity.this.principal_id
  principal_type       = "ServicePrincipal"
  description          = "qscan: resolve tags to digests and pull images to scan"
}

# The queue trigger reads, deletes and (at maxDequeueCount) moves messages to <queue>-poison: the reader and
# processor roles cannot write the poison queue, Storage Queue Data Contributor can.
resource "azurerm_role_assignment" "app_scan_queue" {
  scope                = azurerm_storage_queue.scan.id
  role_definition_name = "Storage Queue Data Contributor"
  principal_id         = azurerm_user_assigned_identity.this.principal_id
  principal_type       = "ServicePrincipal"
  description          = "qscan: the queue trigger reads, deletes and updates scan messages"
}

resource "azurerm_role_assignment" "app_poison_queue" {
  scope                = azurerm_storage_queue.poison.id
  role_definition_name = "Storage Queue Data Contributor"
  principal_id         = azurerm_user_assigned_identity.this.principal_id
  principal_type       = "ServicePrincipal"
  description          = "qscan: the Functions host moves finally failed messages to the poison queue"
}

resource "azurerm_role_assignment" "app_dedupe_table" {
  scope                = azurerm_storage_table.dedupe.resource_manager_id
  role_definition_name = "Storage Table Data Contributor"
  principal_id         = azurerm_user_assigned_identity.this.principal_id
  principal_type       = "ServicePrincipal"
  description          = "qscan: claim, complete and release dedupe records"
}

resource "azurerm_role_assignment" "app_results" {
  scope                = azurerm_storage_container.results.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_user_assigned_identity.this.principal_id
  principal_type       = "ServicePrincipal"
  description          = "qscan: write scan results"
}

resource "azurerm_role_assignment" "app_host_storage" {
  scope                = azurerm_storage_account.host.id
  role_definition_name = "Storage Blob Data Owner"
  principal_id         = azurerm_user_assigned_identity.this.principal_id
  principal_type       = "ServicePrincipal"
  description          = "qscan: the Functions host keeps its leases and keys in AzureWebJobsStorage"
}

resource "azurerm_role_assignment" "app_key_vault" {
  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.this.principal_id
  principal_type       = "ServicePrincipal"
  description          = "qscan: read the Qualys secret"
}

resource "azurerm_role_assignment" "app_notifications" {
  scope                = azurerm_eventgrid_topic.notifications.id
  role_definition_name = "EventGrid Data Sender"
  principal_id         = azurerm_user_assigned_identity.this.principal_id
  principal_type       = "ServicePrincipal"
  description          = "qscan: publish scan notifications"
}
