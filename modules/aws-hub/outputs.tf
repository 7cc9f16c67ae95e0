output "event_bus_name" {
  description = "Name of the hub bus: the platform modules' event_bus_name."
  value       = aws_cloudwatch_event_bus.this.name
}

output "event_bus_arn" {
  description = "ARN of the hub bus spokes forward to."
  value       = aws_cloudwatch_event_bus.this.arn
}

output "bus_policy_json" {
  description = "The hub bus's resource policy (JSON): PutEvents for the organization (aws:PrincipalOrgID) and/or the listed accounts."
  value       = local.bus_policy
}

output "spoke_role_name" {
  description = "Name of the spoke read role: the platform modules' spoke_role_name (QSCAN_SPOKE_ROLE_NAME) and the role every spoke creates."
  value       = local.spoke_role_name
}

output "spoke_role_arn_pattern" {
  description = "The spoke read roles the scanners may assume (`arn:<partition>:iam::*:role/<spoke_role_name>`; limited by aws:ResourceOrgID when organization_id is set)."
  value       = "arn:${local.partition}:iam::*:role/${local.spoke_role_name}"
}

output "spoke_external_id" {
  description = "ExternalId the scanners pass and the spoke roles require (QSCAN_SPOKE_EXTERNAL_ID)."
  value       = var.spoke_external_id
}

output "organization_id" {
  description = "The organization admitted to the bus and to which the scanners' AssumeRole is limited; null when only account_ids."
  value       = var.organization_id
}

output "spoke_config" {
  description = "Everything a spoke needs, as one object: the aws-spoke module's (and environments/aws-spoke's) `hub` input."
  value = {
    event_bus_arn     = aws_cloudwatch_event_bus.this.arn
    scanner_role_arns = sort(distinct(var.scanner_role_arns))
    spoke_role_name   = local.spoke_role_name
    spoke_external_id = var.spoke_external_id
    organization_id   = var.organization_id
    event_patterns    = var.event_patterns
    read_policy_jsons = var.read_policy_jsons
  }
}
