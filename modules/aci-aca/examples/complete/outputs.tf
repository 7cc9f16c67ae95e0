output "function_app_name" {
  description = "The scanner Function App."
  value       = module.aci_aca.function_app_name
}

output "flex_deploy_command" {
  description = "Run this after apply to deploy the package to the Flex Consumption app."
  value       = module.aci_aca.flex_deploy_command
}

output "qualys_secret_uri" {
  description = "Set the Qualys secret JSON here after apply."
  value       = module.aci_aca.qualys_secret_uri
}
