output "function_app_name" {
  description = "The scanner Function App."
  value       = module.aci_aca.function_app_name
}

output "qualys_secret_uri" {
  description = "Set the Qualys secret JSON here after apply."
  value       = module.aci_aca.qualys_secret_uri
}
