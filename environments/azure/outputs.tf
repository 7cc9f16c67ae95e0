output "function_app_name" {
  description = "The scanner Function App."
  value       = module.aci_aca.function_app_name
}

output "flex_deploy_command" {
  description = "With hosting = flex_consumption: run it after apply (and for each new package) to deploy the app; null on Elastic Premium."
  value       = module.aci_aca.flex_deploy_command
}

output "qualys_secret_uri" {
  description = "Versionless URI of the Qualys secret: set its value after the first apply."
  value       = module.aci_aca.qualys_secret_uri
}

output "key_vault_id" {
  description = "The Key Vault holding the Qualys secret."
  value       = module.aci_aca.key_vault_id
}

output "scan_queue_name" {
  description = "The queue resource write events arrive in."
  value       = module.aci_aca.scan_queue_name
}

output "notification_topic_endpoint" {
  description = "Event Grid custom topic of the scan notifications: subscribe your receivers to it."
  value       = module.aci_aca.notification_topic_endpoint
}

output "identity_principal_id" {
  description = "Principal id of the app's identity (grant AcrPull on registries elsewhere)."
  value       = module.aci_aca.identity_principal_id
}

output "host_json" {
  description = "host.json the app package must carry for these settings."
  value       = module.aci_aca.host_json
}

output "spoke_config" {
  description = "What each spoke subscription's environments/azure-spoke needs: `terraform output -json spoke_config | jq '{hub: .}' > ../azure-spoke/hub.auto.tfvars.json`."
  value       = module.aci_aca.spoke_config
}
