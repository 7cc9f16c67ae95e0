# The hub and a spoke planned together against a mocked provider: the hub root's spoke_config feeds the spoke
# root unchanged, the spoke forwards exactly the hub's patterns (which the hub test ties to the platform
# modules' outputs) to the hub bus, and its read role has the name the hub's scanners assume, trusts the hub's
# scanner roles with the ExternalId and carries the platforms' read policies.
mock_provider "aws" {
  source = "../tests/mocks"
}

run "hub" {
  command = apply

  module {
    source = "../aws-hub"
  }

  # One ARN per scanner role (the shared mock gives every role the same one).
  override_resource {
    target = module.ecr.module.worker.aws_iam_role.this
    values = { arn = "arn:aws:iam::123456789012:role/qscan-ecr-scanner-eu-west-1" }
  }
  override_resource {
    target = module.lambda.module.worker.aws_iam_role.this
    values = { arn = "arn:aws:iam::123456789012:role/qscan-lambda-scanner-eu-west-1" }
  }
  override_resource {
    target = module.fargate.aws_iam_role.tasks
    values = { arn = "arn:aws:iam::123456789012:role/qscan-fargate-tasks-eu-west-1" }
  }

  variables {
    region            = "eu-west-1"
    manifest_path     = "../aws-hub/tests/fixtures/manifest.json"
    organization_id   = "o-a1b2c3d4e5"
    spoke_external_id = "o-a1b2c3d4e5-qscan"
  }
}

run "spoke_follows_the_hub" {
  command = apply

  variables {
    region = "eu-west-1"
    hub    = run.hub.spoke_config
  }

  assert {
    condition     = jsonencode(output.event_patterns) == jsonencode(run.hub.spoke_config.event_patterns) && length(output.rule_names) == 4
    error_message = "The spoke forwards exactly the hub's patterns: ${jsonencode(keys(output.event_patterns))}"
  }
  assert {
    condition     = output.read_role_name == run.hub.spoke_config.spoke_role_name && output.read_role_name == "qscan-spoke-read"
    error_message = "The read role is named as the hub's scanners assume it."
  }
  assert {
    condition     = jsonencode(jsondecode(module.spoke.read_trust_policy_json).Statement[0].Principal.AWS) == jsonencode(["arn:aws:iam::123456789012:role/qscan-ecr-scanner-eu-west-1", "arn:aws:iam::123456789012:role/qscan-fargate-tasks-eu-west-1", "arn:aws:iam::123456789012:role/qscan-lambda-scanner-eu-west-1"]) && jsondecode(module.spoke.read_trust_policy_json).Statement[0].Condition.StringEquals["sts:ExternalId"] == run.hub.spoke_config.spoke_external_id
    error_message = "The read role trusts the hub's three scanner roles with the hub's ExternalId: ${module.spoke.read_trust_policy_json}"
  }
}

run "second_region_without_the_read_role" {
  command = plan

  variables {
    region           = "us-east-1"
    hub              = run.hub.spoke_config
    create_read_role = false
  }

  assert {
    condition     = output.read_role_name == null && jsonencode(output.event_patterns) == jsonencode(run.hub.spoke_config.event_patterns)
    error_message = "A further region forwards the same patterns and creates no second read role."
  }
}
