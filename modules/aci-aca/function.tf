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
    local.scan_job_settings,
    local.reconcile_settings,
    {
      AzureWebJobsStorage__credential = "managedidentity"
      AzureWebJobsStorage__clientId   = azurerm_user_assigned_identity.this.client_id
      AZURE_CLIENT_ID                 = azurerm_user_assigned_identity.this.client_id # the SDKs' managed identity

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
    local.hosting_settings,
    var.registry_credentials_secret_name == null ? {} : {
      QSCAN_REGISTRY_CREDENTIALS_SECRET_URI = "${azurerm_key_vault.this.vault_uri}secrets/${var.registry_credentials_secret_name}"
    },
  )
}

locals {
  flex = var.hosting == "flex_consumption"

  # Settings only one hosting takes. Elastic Premium runs from the zip (WEBSITE_RUN_FROM_PACKAGE; its host storage
  # account comes from storage_account_name). Flex Consumption always runs from its deployed package and rejects
  # WEBSITE_RUN_FROM_PACKAGE; its host storage is named by setting, and its /tmp holds 0.8 GB: qscanner's cache
  # is capped well below (the runner caps it at a quarter of the file system anyway) to leave room for the image
  # it pulls.
  hosting_settings = local.flex ? {
    AzureWebJobsStorage__accountName = azurerm_storage_account.host.name
    QSCAN_SCANNER_CACHE_MAX_MB       = tostring(local.flex_cache_max_mb)
    } : {
    WEBSITE_RUN_FROM_PACKAGE = "1"
  }
  flex_cache_max_mb = 200

  # The one app, whichever hosting created it: outputs and anything else that names the app use these.
  function_app_id   = local.flex ? azurerm_function_app_flex_consumption.this[0].id : azurerm_linux_function_app.this[0].id
  function_app_name = local.flex ? azurerm_function_app_flex_consumption.this[0].name : azurerm_linux_function_app.this[0].name
}

resource "azurerm_service_plan" "this" {
  #checkov:skip=CKV_AZURE_225:zone redundancy needs three always-ready instances; a scan an outage misses is retried from the queue
  #checkov:skip=CKV_AZURE_212:one always-ready instance is enough: queued scans survive an instance failure and are retried
  name                         = "${local.base}-plan"
  resource_group_name          = var.resource_group_name
  location                     = var.location
  os_type                      = "Linux"
  sku_name                     = local.flex ? "FC1" : var.plan_sku
  maximum_elastic_worker_count = local.flex ? null : var.maximum_elastic_worker_count
  tags                         = local.tags
}

moved {
  from = azurerm_linux_function_app.this
  to   = azurerm_linux_function_app.this[0]
}

resource "azurerm_linux_function_app" "this" {
  #checkov:skip=CKV_AZURE_221:zip_deploy_file publishes through the app's SCM endpoint from where Terraform runs; the app serves no HTTP trigger
  count = local.flex ? 0 : 1

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

# Flex Consumption (var.hosting = "flex_consumption"). Its package lives in a blob container of the host account,
# read with the app's identity (Storage Blob Data Owner on the host account covers it). The package is NOT
# deployed by Terraform: azurerm's zip_deploy_file is broken for this resource (provider issue 29630), so the
# package goes through the platform's deployment endpoint (`flex_deploy_command` output; README: Flex Consumption).
resource "azurerm_storage_container" "deployment" {
  #checkov:skip=CKV2_AZURE_21:holds only the app package, written by the platform deployment endpoint; like the rest of the host account it carries no scan data to audit
  count = local.flex ? 1 : 0

  name                  = "app-package"
  storage_account_id    = azurerm_storage_account.host.id
  container_access_type = "private"
}

resource "azurerm_function_app_flex_consumption" "this" {
  count = local.flex ? 1 : 0

  name                                           = "${local.base}-func"
  resource_group_name                            = var.resource_group_name
  location                                       = var.location
  service_plan_id                                = azurerm_service_plan.this.id
  runtime_name                                   = "python"
  runtime_version                                = var.python_version
  storage_container_type                         = "blobContainer"
  storage_container_endpoint                     = "${azurerm_storage_account.host.primary_blob_endpoint}${azurerm_storage_container.deployment[0].name}"
  storage_authentication_type                    = "UserAssignedIdentity"
  storage_user_assigned_identity_id              = azurerm_user_assigned_identity.this.id
  maximum_instance_count                         = var.flex_consumption.maximum_instance_count
  instance_memory_in_mb                          = var.flex_consumption.instance_memory_in_mb
  https_only                                     = true
  webdeploy_publish_basic_authentication_enabled = false
  app_settings                                   = local.app_settings
  tags                                           = merge(local.tags, { "qscan:package-sha256" = var.handler_artifact.source_code_hash })

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.this.id]
  }

  site_config {
    application_insights_connection_string = azurerm_application_insights.this.connection_string
    minimum_tls_version                    = "1.2"
    scm_minimum_tls_version                = "1.2"
    http2_enabled                          = true
  }

  depends_on = [
    azurerm_role_assignment.app_host_storage,
    azurerm_role_assignment.app_scan_queue,
    azurerm_role_assignment.app_poison_queue,
  ]
}
