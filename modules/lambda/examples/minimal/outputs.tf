output "queue_url" {
  description = "The scan queue the deployment events land in."
  value       = module.lambda.queue_url
}

output "function_name" {
  description = "The scanner function (never scanned itself)."
  value       = module.lambda.function_name
}
