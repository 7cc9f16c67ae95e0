# The complete example plans against a mocked provider: the organization trail, the registry-sensor backend,
# filters, full logs, X-Ray and the spoke role.
mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  handler_zip            = "dist/aws-fargate-0123456789abcdef.zip"
  handler_zip_sha256     = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  organization_trail_arn = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-trail"
  spoke_external_id      = "qscan-hub-7f3a"
}

run "plans_the_registry_sensor_workflow_with_filters" {
  command = plan

  assert {
    condition     = module.fargate.trail_arn == "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-trail" && module.fargate.state_machine_name == "secscan-fargate-scan"
    error_message = "The organization trail feeds the rules; no second trail."
  }
  assert {
    condition     = jsondecode(module.fargate.event_patterns.deployment).detail.requestParameters.cluster[0]["anything-but"].wildcard == ["sandbox-*", "arn:*:cluster/sandbox-*"]
    error_message = "Sandbox clusters are excluded by name and ARN."
  }
}
