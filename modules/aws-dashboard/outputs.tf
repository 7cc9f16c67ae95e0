output "dashboard" {
  description = "The CloudWatch dashboard (aws_cloudwatch_dashboard); null when create is false."
  value       = one(aws_cloudwatch_dashboard.this[*])
}

output "metrics" {
  description = "The EMF metric contract the dashboard reads: namespace, `service` dimension value and metric names."
  value = {
    namespace     = var.metrics_namespace
    service       = var.service_name
    scan_metrics  = local.scan_metric_names
    finding_names = values(local.finding_metric_names)
  }
}
