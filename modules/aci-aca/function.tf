locals {
  # Identity-based connections: `<prefix>__queueServiceUri` + `__credential` + `__clientId` (the user-assigned
  # identity), the Functions convention for a binding's `connection = "<prefix>"`.
  queue_connection_settings = {
    "${local.queue_connection_prefix}__queueServiceUri" = azurerm_storage_account.data.primary_queue_endpoint
    "${local.queue_connection_prefix}__credential"      = "managedidentity"
    "${local.queue_connection_prefix}__clientId"        = azurerm_user_assigned_identity.this.client_id
  }

  app_settings = merge(
    local.queue_connection_settings,
    local.activity_log_settings,
    local.host_settings,
    local.reconcile_settings,
    {
      AzureWebJobsStorage__credential = "managedidentity"
      AzureWebJobsStorage__clientId   = azurerm_user_assigned_identity.this.client_id
      AZURE_CLIENT_ID                 = azurerm_user_assigned_identity.this.client_id # the SDKs' managed identity
      WEBSITE_RUN_FROM_PACKAGE        = "1"

      QSCAN_CLOUD                    = "azure"
      QSCAN_SCANNER_BACKEND          = "qscanner" # the Functions app runs qscanner itself
      QSCANNER_PATH                  = var.qscanner_path
      QSCAN_SEVERITY_THRESHOLD       = var.severity_threshold
      QSCAN_SCAN_TIMEOUT_SECONDS     = tostring(var.scan_timeout_seconds)
      QSCAN_QUALYS_SECRET_URI        = local.qualys_secret_uri
      QSCAN_STORAGE_ACCOUNT_URL      = trimsuffix(azurerm_storage_account.data.primary_blob_endpoint, "/")
      QSCAN_DEDUPE_TABLE_NAME        = azurerm_storage_table.dedupe.name
      QSCAN_RESULTS_CONTAINER        = azurerm_storage_container.results.name
      QSCAN_EVENTGRID_TOPIC_ENDPOINT = azurerm_eventgrid_topic.notifications.endpoint
      QSCAN_SCAN_QUEUE_NAME          = azurerm_storage_queue.scan.name
    },
    var.registry_credentials_secret_name == null ? {} : {
      QSCAN_REGISTRY_CREDENTIALS_SECRET_URI = "${azurerm_key_vault.this.vault_uri}secrets/${var.registry_credentials_secret_name}"
    },
  )
}

resource "azurerm_service_plan" "this" {
  #checkov:skip=CKV_AZURE_225:zone redundancy needs three always-ready instances; a scan an outage misses is retried from the queue
  #checkov:skip=CKV_AZURE_212:one always-ready instance is enough: queued scans survive an instance failure and are retried
  name                         = "${local.base}-plan"
  resource_group_name          = var.resource_group_name
  location                     = var.location
  os_type                      = "Linux"
  sku_name                     = var.plan_sku
  maximum_elastic_worker_count = var.maximum_elastic_worker_count
  tags                         = local.tags
}

resource "azurerm_linux_function_app" "this" {
  #checkov:skip=CKV_AZURE_221:zip_deploy_file publishes through the app's SCM endpoint from where Terraform runs; the app serves no HTTP trigger
  name                                     = "${local.base}-func"
  resource_group_name                      = var.resource_group_name
  location                                 = var.location
  service_plan_id                          = azurerm_service_plan.this.id
  storage_account_name                     = azurerm_storage_account.host.name
  storage_uses_managed_identity            = true
  content_share_force_disabled             = true # no Azure Files content share: it needs a shared key; the app runs from the zip
  key_vault_reference_identity_id          = azurerm_user_assigned_identity.this.id
  functions_extension_version              = "~4"
  https_only                               = true
  ftp_publish_basic_authentication_enabled = false
  zip_deploy_file                          = var.handler_artifact.local_path
  app_settings                             = local.app_settings
  tags                                     = merge(local.tags, { "qscan:package-sha256" = var.handler_artifact.source_code_hash })

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.this.id]
  }

  site_config {
    application_insights_connection_string = azurerm_application_insights.this.connection_string
    minimum_tls_version                    = "1.2"
    scm_minimum_tls_version                = "1.2"
    ftps_state                             = "Disabled"
    http2_enabled                          = true
    elastic_instance_minimum               = 1
    runtime_scale_monitoring_enabled       = false

    application_stack {
      python_version = var.python_version
    }
  }

  # The host starts with identity-based storage: the roles must exist first or its first start fails.
  depends_on = [
    azurerm_role_assignment.app_host_storage,
    azurerm_role_assignment.app_scan_queue,
    azurerm_role_assignment.app_poison_queue,
  ]
}
