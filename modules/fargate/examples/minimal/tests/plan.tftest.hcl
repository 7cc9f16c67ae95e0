# The example plans against a mocked provider: the scan store, the trail, the ECS rules, the state machine and
# the task function.
mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  handler_zip        = "dist/aws-fargate-0123456789abcdef.zip"
  handler_zip_sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  qscanner_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:qscanner:7"
}

run "plans_the_trail_rules_workflow_and_tasks" {
  command = plan

  assert {
    condition     = module.trail.trail_name == "qscan-trail-eu-west-1" && module.fargate.rule_names == { task_definition = "qscan-fargate-task-definition", deployment = "qscan-fargate-deployment" }
    error_message = "The trail feeds both ECS rules: ${module.trail.trail_name}"
  }
  assert {
    condition     = module.fargate.state_machine_name == "qscan-fargate-scan" && module.fargate.function_name == "qscan-fargate-tasks"
    error_message = "The rules start the scan workflow, whose steps run in the task function."
  }
}
