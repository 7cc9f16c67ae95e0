output "queue_url" {
  description = "The scan queue the push events land in."
  value       = module.ecr.queue_url
}

output "function_name" {
  description = "The scanner function."
  value       = module.ecr.function_name
}
