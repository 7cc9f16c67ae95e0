# The hub root against a mocked AWS provider: the scanners and the hub bus come up together, the spoke contract
# (spoke_config) carries exactly the platform modules' patterns and read policies, the scanner roles and the
# role name the scanners assume; an organization, accounts or both; neither is refused.
mock_provider "aws" {
  source = "../tests/mocks"
}

variables {
  region            = "eu-west-1"
  manifest_path     = "tests/fixtures/manifest.json"
  organization_id   = "o-a1b2c3d4e5"
  spoke_external_id = "o-a1b2c3d4e5-qscan"
}

run "spoke_contract_comes_from_the_platform_modules" {
  command = apply

  assert {
    condition = jsonencode(output.spoke_config.event_patterns) == jsonencode({
      ecr_native              = module.ecr.native_event_pattern
      lambda_deploy           = module.lambda.event_pattern
      fargate_task_definition = module.fargate.event_patterns.task_definition
      fargate_deployment      = module.fargate.event_patterns.deployment
    })
    error_message = "Spokes forward exactly the platform modules' patterns: ${jsonencode(keys(output.spoke_config.event_patterns))}"
  }
  assert {
    condition     = jsonencode(output.spoke_config.read_policy_jsons) == jsonencode({ ecr = module.ecr.read_policy_json, lambda = module.lambda.read_policy_json, fargate = module.fargate.read_policy_json })
    error_message = "Spoke read roles carry exactly the platform modules' read policies."
  }
  assert {
    condition     = toset(output.spoke_config.scanner_role_arns) == toset([module.ecr.role_arn, module.lambda.role_arn, module.fargate.role_arn])
    error_message = "Spoke read roles trust the three scanner roles."
  }
  assert {
    condition     = output.spoke_config.spoke_role_name == "qscan-spoke-read" && module.hub.spoke_role_name == output.spoke_config.spoke_role_name && output.spoke_config.spoke_external_id == "o-a1b2c3d4e5-qscan"
    error_message = "The role name the scanners are given (module.hub.spoke_role_name) is the one spokes create."
  }
  assert {
    condition     = output.event_bus_arn == output.spoke_config.event_bus_arn && module.hub.event_bus_name == "qscan-hub"
    error_message = "Spokes forward to the hub bus."
  }
  assert {
    condition     = [for s in jsondecode(output.bus_policy_json).Statement : s.Sid] == ["OrganizationPutEvents"] && jsondecode(output.bus_policy_json).Statement[0].Condition.StringEquals["aws:PrincipalOrgID"] == "o-a1b2c3d4e5"
    error_message = "The organization (only) may forward."
  }
  assert {
    condition     = keys(output.dashboard_names) == ["ecr", "fargate", "lambda"] && alltrue([for platform, name in output.dashboard_names : startswith(name, "qscan-${platform}-")])
    error_message = "The hub names every scanner's dashboard (the per-account views spokes feed)."
  }
  assert {
    condition     = module.lambda.trail_arn == null && module.fargate.trail_arn == null
    error_message = "The hub needs no trail: CloudTrail events arrive forwarded on the hub bus."
  }
  assert {
    condition     = jsonencode(module.lambda.self_function_names) == jsonencode(["qscan-lambda-scanner", "qscan-ecr-scanner", "qscan-fargate-tasks"])
    error_message = "The Lambda scanner never scans qscan's own functions (the hub account may forward its own events): ${jsonencode(module.lambda.self_function_names)}"
  }
}

run "putimage_pattern_joins_when_enabled" {
  command = plan

  variables {
    enable_cloudtrail_putimage = true
  }

  assert {
    condition     = output.spoke_config.event_patterns.ecr_putimage == module.ecr.cloudtrail_event_pattern && length(output.spoke_config.event_patterns) == 5
    error_message = "With enable_cloudtrail_putimage the spokes forward the PutImage pattern too."
  }
}

run "accounts_without_an_organization" {
  command = plan

  variables {
    organization_id   = null
    spoke_account_ids = ["222222222222"]
  }

  assert {
    condition     = jsondecode(output.bus_policy_json).Statement[0].Principal == { AWS = ["arn:aws:iam::222222222222:root"] } && length(jsondecode(output.bus_policy_json).Statement) == 1
    error_message = "Only the listed account may forward."
  }
  assert {
    condition     = output.spoke_config.organization_id == null
    error_message = "No organization in the contract."
  }
}

run "neither_organization_nor_accounts_is_refused" {
  command = plan

  variables {
    organization_id = null
  }

  expect_failures = [var.organization_id]
}
