output "spoke_config" {
  description = "Everything a spoke needs (environments/aws-spoke's `hub` variable): `terraform output -json spoke_config` into the spoke's tfvars as `{\"hub\": ...}`."
  value       = module.hub.spoke_config
}

output "event_bus_arn" {
  description = "The hub bus spokes forward to."
  value       = module.hub.event_bus_arn
}

output "bus_policy_json" {
  description = "The hub bus policy (JSON): who may forward."
  value       = module.hub.bus_policy_json
}

output "qualys_secret_arn" {
  description = "Secrets Manager secret the scanners read: put the Qualys secret JSON into it."
  value       = module.core.qualys_secret_arn
}

output "alert_topic_arn" {
  description = "SNS topic for findings at or above the threshold, failed scans and alarms: subscribe your tooling."
  value       = module.core.alert_topic_arn
}

output "results_bucket_name" {
  description = "S3 bucket with the normalized scan results and raw scanner outputs."
  value       = module.core.results_bucket_name
}

output "ecr_function_name" {
  description = "The ECR scanner Lambda function."
  value       = module.ecr.function_name
}

output "lambda_function_name" {
  description = "The Lambda scanner function."
  value       = module.lambda.function_name
}

output "fargate_state_machine_arn" {
  description = "The Step Functions state machine the ECS deployment rules start."
  value       = module.fargate.state_machine_arn
}

output "scanner_role_arns" {
  description = "The scanner roles that assume the spokes' read role, by platform."
  value       = { ecr = module.ecr.role_arn, lambda = module.lambda.role_arn, fargate = module.fargate.role_arn }
}

output "dashboard_names" {
  description = "The scanners' CloudWatch dashboards, by platform: scans, findings and failures per spoke account."
  value       = { ecr = module.ecr.dashboard_name, lambda = module.lambda.dashboard_name, fargate = module.fargate.dashboard_name }
}
