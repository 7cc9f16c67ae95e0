# Two accounts, both without shared keys: "data" holds what qscan owns (queues, dedupe table, results, dead
# letters); "host" is the Functions host's AzureWebJobsStorage, where the host needs Storage Blob Data Owner,
# a role qscan's data should not be under.
locals {
  scan_queue_name        = "scan-events"
  poison_queue_name      = "${local.scan_queue_name}-poison" # the name the Functions host moves messages to
  results_container_name = "results"
  dead_letter_container  = "eventgrid-deadletter"
  dedupe_table_name      = "qscandedupe"

  # Identity-based connection of the queue trigger: the app's binding uses `connection = "QSCAN_STORAGE"`.
  queue_connection_prefix = "QSCAN_STORAGE"
}

resource "azurerm_storage_account" "data" {
  #checkov:skip=CKV_AZURE_206:results and dedupe claims can be rebuilt by rescanning; LRS is the cost-proportionate default
  #checkov:skip=CKV2_AZURE_1:Microsoft-managed keys plus infrastructure encryption; customer-managed keys are the caller's choice
  #checkov:skip=CKV2_AZURE_33:the Event Grid system topic and the app reach it over public endpoints with Entra ID; private endpoints need a VNet the module does not own
  #checkov:skip=CKV_AZURE_59:Event Grid delivers to the queue over the public endpoint (trusted service, identity-authenticated); shared keys are off
  #checkov:skip=CKV_AZURE_33:queue logging goes through diagnostic settings, not the classic logging the check asks for
  #checkov:skip=CKV2_AZURE_41:shared keys are disabled, so no SAS can be signed
  name                              = "${var.name_prefix}${var.name_suffix}data"
  resource_group_name               = var.resource_group_name
  location                          = var.location
  account_tier                      = "Standard"
  account_replication_type          = "LRS"
  account_kind                      = "StorageV2"
  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true
  infrastructure_encryption_enabled = true
  allow_nested_items_to_be_public   = false
  cross_tenant_replication_enabled  = false
  local_user_enabled                = false
  tags                              = local.tags

  blob_properties {
    delete_retention_policy {
      days = 7
    }
    container_delete_retention_policy {
      days = 7
    }
  }
}

resource "azurerm_storage_queue" "scan" {
  name               = local.scan_queue_name
  storage_account_id = azurerm_storage_account.data.id
}

resource "azurerm_storage_queue" "poison" {
  name               = local.poison_queue_name
  storage_account_id = azurerm_storage_account.data.id
}

resource "azurerm_storage_container" "results" {
  #checkov:skip=CKV2_AZURE_21:read, write and delete are logged by the blobServices diagnostic setting below (the check knows only Storage Insights)
  name                  = local.results_container_name
  storage_account_id    = azurerm_storage_account.data.id
  container_access_type = "private"
}

resource "azurerm_storage_container" "dead_letter" {
  #checkov:skip=CKV2_AZURE_21:read, write and delete are logged by the blobServices diagnostic setting below (the check knows only Storage Insights)
  name                  = local.dead_letter_container
  storage_account_id    = azurerm_storage_account.data.id
  container_access_type = "private"
}

# azurerm 4.55 creates tables through the data plane only: the provider needs `storage_use_azuread = true`
# and the deployer Storage Table Data Contributor on the account (environments/azure/README.md).
resource "azurerm_storage_table" "dedupe" {
  #checkov:skip=CKV2_AZURE_20:read, write and delete are logged by the tableServices diagnostic setting below (the check knows only Storage Insights)
  name                 = local.dedupe_table_name
  storage_account_name = azurerm_storage_account.data.name
}

resource "azurerm_storage_account" "host" {
  #checkov:skip=CKV_AZURE_206:the Functions host's own state (leases, timers) is rebuilt on restart; LRS is enough
  #checkov:skip=CKV2_AZURE_1:Microsoft-managed keys plus infrastructure encryption; customer-managed keys are the caller's choice
  #checkov:skip=CKV2_AZURE_33:the Functions host reaches it over the public endpoint with Entra ID; private endpoints need a VNet the module does not own
  #checkov:skip=CKV_AZURE_59:the Functions host on Elastic Premium without VNet integration uses the public endpoint; shared keys are off
  #checkov:skip=CKV_AZURE_33:queue logging goes through diagnostic settings, not the classic logging the check asks for
  #checkov:skip=CKV2_AZURE_41:shared keys are disabled, so no SAS can be signed
  #checkov:skip=CKV2_AZURE_38:host storage holds no data worth restoring (leases, timers, keys)
  name                              = "${var.name_prefix}${var.name_suffix}host"
  resource_group_name               = var.resource_group_name
  location                          = var.location
  account_tier                      = "Standard"
  account_replication_type          = "LRS"
  account_kind                      = "StorageV2"
  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true
  infrastructure_encryption_enabled = true
  allow_nested_items_to_be_public   = false
  cross_tenant_replication_enabled  = false
  local_user_enabled                = false
  tags                              = local.tags
}

# Data-plane audit logs of what qscan owns (who read, wrote or deleted queue messages, claims and results).
resource "azurerm_monitor_diagnostic_setting" "data" {
  for_each = toset(["blobServices", "queueServices", "tableServices"])

  name                       = "${local.base}-${each.key}"
  target_resource_id         = "${azurerm_storage_account.data.id}/${each.key}/default"
  log_analytics_workspace_id = azurerm_log_analytics_workspace.this.id

  enabled_log {
    category = "StorageRead"
  }
  enabled_log {
    category = "StorageWrite"
  }
  enabled_log {
    category = "StorageDelete"
  }
}
