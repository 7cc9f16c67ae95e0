# The example plans against a mocked provider: both push rules, for the selected repositories only, feed the
# queue of a scanner that publishes its qscanner layer and may assume the spoke read role.
mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  handler_artifact        = { local_path = "dist/aws-ecr-0123456789abcdef.zip", source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" }
  qscanner_layer_artifact = { local_path = "dist/qscanner-layer-fedcba9876543210.zip", source_code_hash = "ChssPU5fYHGCk6S1xtfo+QobLD1OX2BxgpOktcbX6Pk=" }
  alert_email_addresses   = ["secops@example.com"]
  organization_id         = "o-a1b2c3d4e5"
}

run "plans_both_rules_for_the_selected_repositories" {
  command = plan

  assert {
    condition     = module.ecr.native_rule_name == "secscan-ecr-push" && module.ecr.cloudtrail_rule_name == "secscan-ecr-putimage"
    error_message = "The native and the CloudTrail PutImage rules are both created: ${module.ecr.native_rule_name}, ${coalesce(module.ecr.cloudtrail_rule_name, "none")}"
  }
  assert {
    condition     = jsondecode(module.ecr.native_event_pattern).detail["repository-name"] == [{ prefix = "prod-" }, { prefix = "platform/" }]
    error_message = "Only the selected repositories are scanned: ${module.ecr.native_event_pattern}"
  }
  assert {
    condition     = module.ecr.queue_name == "secscan-ecr-scan" && module.ecr.function_name == "secscan-ecr-scanner"
    error_message = "The rules feed the scan queue the scanner consumes."
  }
}
