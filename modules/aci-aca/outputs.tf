output "function_app_name" {
  description = "Name of the Function App."
  value       = local.function_app_name
}

output "function_app_id" {
  description = "Resource id of the Function App."
  value       = local.function_app_id
}

output "identity_principal_id" {
  description = "Principal id of the app's user-assigned identity (grant it AcrPull on registries outside acr_registry_ids, or its read role in other subscriptions)."
  value       = azurerm_user_assigned_identity.this.principal_id
}

output "identity_client_id" {
  description = "Client id of the app's user-assigned identity (AZURE_CLIENT_ID and every `<prefix>__clientId` setting)."
  value       = azurerm_user_assigned_identity.this.client_id
}

output "app_settings" {
  description = "The Function App's settings: the core's QSCAN_* Settings, QSCAN_SCAN_QUEUE_NAME and the identity-based connections."
  value       = local.app_settings
}

output "host_json" {
  description = "host.json content the app package must carry (queue batch size, maxDequeueCount, visibilityTimeout, functionTimeout)."
  value       = jsonencode(local.host_json)
}

output "queue_connection_prefix" {
  description = "Connection name of the queue trigger (`connection = \"QSCAN_STORAGE\"`): the app settings `QSCAN_STORAGE__queueServiceUri`, `__credential = managedidentity` and `__clientId` carry it."
  value       = local.queue_connection_prefix
}

output "activity_log_connection_prefix" {
  description = "Connection name of the Event Hub trigger (`QSCAN_ACTIVITY_LOG__fullyQualifiedNamespace`, `__credential`, `__clientId`), or null while enable_activity_log_trigger is false."
  value       = var.enable_activity_log_trigger ? local.activity_log_connection_prefix : null
}

output "scan_queue_name" {
  description = "The queue Event Grid delivers resource write events to (QSCAN_SCAN_QUEUE_NAME)."
  value       = azurerm_storage_queue.scan.name
}

output "poison_queue_name" {
  description = "The queue the Functions host moves a message to after maxDequeueCount attempts."
  value       = azurerm_storage_queue.poison.name
}

output "storage_account_id" {
  description = "Resource id of the data storage account (queues, dedupe table, results, dead letters)."
  value       = azurerm_storage_account.data.id
}

output "results_container_name" {
  description = "Blob container of the scan results (QSCAN_RESULTS_CONTAINER)."
  value       = azurerm_storage_container.results.name
}

output "dead_letter_container_name" {
  description = "Blob container Event Grid dead-letters undeliverable events to."
  value       = azurerm_storage_container.dead_letter.name
}

output "dedupe_table_name" {
  description = "Azure Table of the dedupe claims (QSCAN_DEDUPE_TABLE_NAME)."
  value       = azurerm_storage_table.dedupe.name
}

output "key_vault_id" {
  description = "Resource id of the Key Vault."
  value       = azurerm_key_vault.this.id
}

output "qualys_secret_uri" {
  description = "Versionless URI of the Qualys secret (QSCAN_QUALYS_SECRET_URI); set its value with `az keyvault secret set --vault-name <vault> --name <qualys_secret_name> --file qualys.json`."
  value       = local.qualys_secret_uri
}

output "system_topic_name" {
  description = "The subscription's Microsoft.Resources.Subscriptions system topic (created or existing)."
  value       = module.subscription_events.system_topic_name
}

output "event_subscription_id" {
  description = "Resource id of the Event Grid subscription that delivers container writes to the scan queue."
  value       = module.subscription_events.event_subscription_id
}

output "spoke_config" {
  description = "What modules/aci-aca-spoke (environments/azure-spoke) needs from this hub: `name`, the scan queue and dead-letter container (ids, names, storage account), the app's principal id, the reader role (`definition_id`; `assign_per_subscription` is false when reader_scope is a management group, where the hub assigns it once) and the Event Grid delivery settings."
  value       = local.spoke_config
}

output "notification_topic_endpoint" {
  description = "Endpoint of the Event Grid custom topic scan notifications go to (QSCAN_EVENTGRID_TOPIC_ENDPOINT)."
  value       = azurerm_eventgrid_topic.notifications.endpoint
}

output "notification_topic_id" {
  description = "Resource id of the notification topic (subscribe your receivers to it)."
  value       = azurerm_eventgrid_topic.notifications.id
}

output "action_group_id" {
  description = "The action group the alerts go to."
  value       = local.action_group_id
}

output "application_insights_id" {
  description = "Resource id of Application Insights."
  value       = azurerm_application_insights.this.id
}

output "flex_deploy_command" {
  description = "With hosting = \"flex_consumption\": the Azure CLI command that deploys the package (Terraform cannot: azurerm's zip_deploy_file is broken for Flex Consumption, provider issue 29630); null on Elastic Premium, where Terraform deploys it."
  value       = local.flex ? "az functionapp deployment source config-zip --resource-group ${var.resource_group_name} --name ${local.function_app_name} --src ${var.handler_artifact.local_path}" : null
}
