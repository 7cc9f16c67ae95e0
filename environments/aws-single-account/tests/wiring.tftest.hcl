# The environment's wiring against a mocked AWS provider (no credentials, no network): the manifest from
# `make package` feeds the handlers (aws-ecr, aws-lambda, aws-fargate) and the qscanner layer, an explicit layer
# ARN wins, the account's trail (modules/aws-trail) is created unless an existing one is named and feeds both the
# Lambda and the Fargate rules, and a missing manifest or handler, a missing layer or no trail at all stops the
# plan with a clear message; the Lambda scanner skips both scanners by exact name, and organization_id and the
# Fargate filters reach the modules.
mock_provider "aws" {
  source = "../tests/mocks"
}

variables {
  region        = "eu-west-1"
  manifest_path = "tests/fixtures/manifest.json"
}

run "handler_and_layer_come_from_the_manifest" {
  command = plan

  assert {
    condition = output.handler_artifact == {
      local_path       = "tests/dist/aws-ecr-0123456789abcdef.zip"
      source_code_hash = "Mbjk1/XX9uLA8LfF4MaooNfw6cKxo9Tl9gcYKTpLXG0="
    }
    error_message = "The handler is the manifest's aws-ecr zip (path relative to the folder above the manifest's), by its base64 SHA-256: ${jsonencode(output.handler_artifact)}"
  }
  assert {
    condition = output.qscanner_layer_artifact == {
      local_path       = "tests/dist/qscanner-layer-fedcba9876543210.zip"
      source_code_hash = "ChssPU5fYHGCk6S1xtfo+QobLD1OX2BxgpOktcbX6Pk="
    }
    error_message = "The qscanner layer built into the manifest is published."
  }
  assert {
    condition = output.lambda_handler_artifact == {
      local_path       = "tests/dist/aws-lambda-89abcdef01234567.zip"
      source_code_hash = "wP/uAMD/7gDA/+4AwP/uAMD/7gDA/+4AwP/uAMD/7gA="
    }
    error_message = "The Lambda scanner runs the manifest's aws-lambda zip: ${jsonencode(output.lambda_handler_artifact)}"
  }
  assert {
    condition = output.fargate_handler_artifact == {
      local_path       = "tests/dist/aws-fargate-fedcba9876543210.zip"
      source_code_hash = "8A3+7fAN/u3wDf7t8A3+7fAN/u3wDf7t8A3+7fAN/u0="
    }
    error_message = "The Fargate task function runs the manifest's aws-fargate zip: ${jsonencode(output.fargate_handler_artifact)}"
  }
}

run "applies_core_ecr_lambda_and_fargate_together" {
  command = apply

  assert {
    condition     = output.qscanner_layer_arns == tolist(["arn:aws:lambda:eu-west-1:123456789012:layer:qscan-qscanner:1"]) && module.ecr.qscanner_layer_version_arn == output.qscanner_layer_arns[0]
    error_message = "The function runs with the layer this environment published."
  }
  assert {
    condition     = output.ecr_function_name == "qscan-ecr-scanner" && output.qualys_secret_arn == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:qscan/qualys-access-token-AbCdEf"
    error_message = "The scanner reads the secret aws-core created."
  }
  assert {
    condition     = output.alert_topic_arn == "arn:aws:sns:eu-west-1:123456789012:qscan-alerts" && output.dedupe_table_name == "qscan-dedupe"
    error_message = "The outputs come from aws-core."
  }
  assert {
    condition     = module.ecr.event_source_mapping_uuid != null
    error_message = "In AWS the queue triggers the function."
  }
  assert {
    condition     = module.lambda.event_source_mapping_uuid != null && module.lambda.function_name == output.lambda_function_name
    error_message = "In AWS the Lambda scan queue triggers the Lambda scanner."
  }
  assert {
    condition     = output.lambda_function_name == "qscan-lambda-scanner" && module.trail[0].trail_name == "qscan-lambda-trail-eu-west-1" && output.lambda_trail_arn == module.trail[0].trail_arn
    error_message = "By default the environment creates the account's trail, named as when modules/lambda created it, and feeds it to the Lambda scanner (CloudTrail calls reach EventBridge only through a trail)."
  }
  assert {
    condition     = module.lambda.qscanner_layer_version_arn != null && module.lambda.layer_arns[0] == module.lambda.qscanner_layer_version_arn
    error_message = "The Lambda scanner publishes the manifest's qscanner layer like the ECR scanner."
  }
  assert {
    condition     = module.fargate.layer_arns == tolist([module.ecr.qscanner_layer_version_arn]) && module.fargate.trail_arn == module.trail[0].trail_arn
    error_message = "The Fargate task function runs qscanner from the ECR scanner's layer, and the account's one trail feeds its rules."
  }
  assert {
    condition = (
      output.fargate_state_machine_arn == module.fargate.state_machine_arn && output.fargate_function_name == "qscan-fargate-tasks" &&
      output.fargate_rule_names == { task_definition = "qscan-fargate-task-definition", deployment = "qscan-fargate-deployment" }
    )
    error_message = "The outputs name the state machine, the task function and both ECS rules: ${jsonencode(output.fargate_rule_names)}"
  }
}

run "explicit_layer_arn_wins" {
  command = plan

  variables {
    qscanner_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:qualys-qscanner:12"
  }

  assert {
    condition     = output.qscanner_layer_artifact == null && module.ecr.layer_arns == tolist(["arn:aws:lambda:eu-west-1:123456789012:layer:qualys-qscanner:12"])
    error_message = "With qscanner_layer_arn no layer is published from the manifest."
  }
  assert {
    condition     = module.lambda.layer_arns == tolist(["arn:aws:lambda:eu-west-1:123456789012:layer:qualys-qscanner:12"])
    error_message = "The Lambda scanner uses the explicit layer too."
  }
  assert {
    condition     = module.fargate.layer_arns == tolist(["arn:aws:lambda:eu-west-1:123456789012:layer:qualys-qscanner:12"])
    error_message = "The Fargate task function uses the explicit layer too."
  }
}

run "existing_layer_without_one_in_the_manifest" {
  command = plan

  variables {
    manifest_path      = "tests/fixtures/manifest-without-layer.json"
    qscanner_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:qualys-qscanner:12"
  }

  assert {
    condition     = module.ecr.layer_arns == tolist(["arn:aws:lambda:eu-west-1:123456789012:layer:qualys-qscanner:12"]) && module.fargate.layer_arns == module.ecr.layer_arns
    error_message = "An existing layer works without QSCANNER_BINARY at package time."
  }
}

run "no_qscanner_layer_anywhere_fails" {
  command = plan

  variables {
    manifest_path = "tests/fixtures/manifest-without-layer.json"
  }

  expect_failures = [var.qscanner_layer_arn]
}

run "missing_manifest_fails_with_make_package_hint" {
  command = plan

  variables {
    manifest_path = "tests/fixtures/absent/manifest.json"
  }

  expect_failures = [var.manifest_path]
}

run "settings_reach_the_modules" {
  command = plan

  variables {
    name_prefix                = "scan-eu"
    repository_include         = ["payments", "team-*"]
    enable_cloudtrail_putimage = true
    fargate_cluster_exclude    = ["sandbox"]
    fargate_family_include     = ["payments"]
    fargate_scanner_backend    = "qualys-api"
  }

  assert {
    condition     = jsondecode(module.ecr.native_event_pattern).detail["repository-name"] == ["payments", { prefix = "team-" }]
    error_message = "Repository filters are passed to the ecr module."
  }
  assert {
    condition     = module.ecr.cloudtrail_event_pattern != null && module.core.name_prefix == "scan-eu"
    error_message = "CloudTrail PutImage and the name prefix are passed on."
  }
  assert {
    condition = (
      jsondecode(module.fargate.event_patterns.task_definition).detail.requestParameters.family == ["payments"] &&
      jsondecode(module.fargate.event_patterns.deployment).detail.requestParameters.cluster[0] == { "anything-but" = { wildcard = ["sandbox", "arn:*:cluster/sandbox"] } } &&
      jsondecode(module.fargate.definition).States.ScanImages.ItemSelector.backend == "qualys-api" &&
      module.fargate.state_machine_name == "scan-eu-fargate-scan"
    )
    error_message = "The Fargate filters, backend and name prefix are passed to the fargate module."
  }
}

run "the_lambda_scanner_skips_the_scanners_and_the_fargate_task_function_by_exact_name" {
  command = plan

  variables {
    name_prefix = "scan-eu"
  }

  assert {
    condition     = module.lambda.self_function_names == tolist(["scan-eu-lambda-scanner", "scan-eu-ecr-scanner", "scan-eu-fargate-tasks"])
    error_message = "The Lambda scanner never scans itself, the ECR scanner or the Fargate task function: ${jsonencode(module.lambda.self_function_names)}"
  }
  assert {
    condition     = !strcontains(module.lambda.event_pattern, "scan-eu-*") && !strcontains(module.lambda.event_pattern, "scan-eu-\"")
    error_message = "No prefix exclusion: customers' scan-eu-* functions are scanned."
  }
}

run "organization_id_limits_the_lambda_scanners_image_pulls" {
  command = apply

  variables {
    organization_id = "o-a1b2c3d4e5"
  }

  assert {
    condition     = one([for s in jsondecode(module.lambda.role_policy_json).Statement : s.Condition if s.Sid == "ReadFunctionImages"]) == { StringEquals = { "aws:ResourceOrgID" = "o-a1b2c3d4e5" } }
    error_message = "The Lambda scanner's image pulls are limited to the organization."
  }
}

run "rejects_malformed_organization_id" {
  command = plan

  variables {
    organization_id = "o-x"
  }

  expect_failures = [var.organization_id]
}

run "existing_trail_replaces_the_created_one" {
  command = plan

  variables {
    existing_trail_arn = "arn:aws:cloudtrail:us-east-1:210987654321:trail/org-trail"
  }

  assert {
    condition     = output.lambda_trail_arn == "arn:aws:cloudtrail:us-east-1:210987654321:trail/org-trail" && module.fargate.trail_arn == output.lambda_trail_arn && length(module.trail) == 0
    error_message = "With existing_trail_arn no trail is created and the existing one feeds the Lambda and the Fargate rules."
  }
}

run "no_trail_at_all_fails" {
  command = plan

  variables {
    create_trail = false
  }

  expect_failures = [var.create_trail]
}

run "manifest_without_lambda_handler_fails" {
  command = plan

  variables {
    manifest_path = "tests/fixtures/manifest-ecr-only.json"
  }

  expect_failures = [var.manifest_path]
}

run "manifest_without_fargate_handler_fails" {
  command = plan

  variables {
    manifest_path = "tests/fixtures/manifest-without-fargate.json"
  }

  expect_failures = [var.manifest_path]
}

run "the_reconciler_requests_into_the_scanners_queues_and_workflow" {
  command = plan

  assert {
    condition = (
      length(module.reconciler) == 1 &&
      module.reconciler[0].function_name == "qscan-reconciler" &&
      module.reconciler[0].metrics.service == "qscan-reconciler" &&
      strcontains(module.reconciler[0].role_policy_json, "states:StartExecution")
    )
    error_message = "The reconciler is on by default and may start the Fargate workflow."
  }
}

run "the_reconciler_can_be_turned_off" {
  command = plan

  variables {
    enable_reconciler = false
  }

  assert {
    condition     = length(module.reconciler) == 0 && output.reconciler_function_name == null
    error_message = "enable_reconciler = false deploys no reconciler."
  }
}
