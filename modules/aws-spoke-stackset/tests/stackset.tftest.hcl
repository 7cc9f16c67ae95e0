# The stack set on a mocked provider: SERVICE_MANAGED with auto-deployment that removes stacks from accounts
# leaving the OUs, named IAM capability, the read role region as the template parameter, one instance per
# region for the OUs; bad targets, regions, read role region, template and preferences refused.
mock_provider "aws" {}

variables {
  template_body           = "{\"AWSTemplateFormatVersion\":\"2010-09-09\",\"Parameters\":{\"ReadRoleRegion\":{\"Type\":\"String\"}},\"Resources\":{\"ReadRole\":{\"Type\":\"AWS::IAM::Role\"}}}"
  organizational_unit_ids = ["ou-ab12-cdef3456", "r-ab12", "ou-ab12-cdef3456"]
  regions                 = ["eu-west-1", "us-east-1"]
  read_role_region        = "eu-west-1"
}

run "service_managed_with_auto_deployment_to_the_ous_in_every_region" {
  command = apply

  assert {
    condition     = aws_cloudformation_stack_set.this.permission_model == "SERVICE_MANAGED" && aws_cloudformation_stack_set.this.name == "qscan-spoke" && aws_cloudformation_stack_set.this.call_as == "SELF"
    error_message = "A service-managed stack set named <name_prefix>-spoke, called as the management account by default."
  }
  assert {
    condition     = one(aws_cloudformation_stack_set.this.auto_deployment).enabled && !one(aws_cloudformation_stack_set.this.auto_deployment).retain_stacks_on_account_removal
    error_message = "Auto-deployment reaches accounts joining the OUs and removes the stacks of accounts leaving them."
  }
  assert {
    condition     = aws_cloudformation_stack_set.this.capabilities == toset(["CAPABILITY_NAMED_IAM"]) && aws_cloudformation_stack_set.this.parameters == tomap({ ReadRoleRegion = "eu-west-1" })
    error_message = "The template's named IAM roles are acknowledged and the read role region is passed as ReadRoleRegion."
  }
  assert {
    condition     = aws_cloudformation_stack_set.this.template_body == var.template_body && aws_cloudformation_stack_set.this.tags == tomap({ "qscan:component" = "spoke" })
    error_message = "The generated template, verbatim, with the component tag propagated to the stacks."
  }
  assert {
    condition     = one(aws_cloudformation_stack_set.this.operation_preferences).failure_tolerance_percentage == 0 && one(aws_cloudformation_stack_set.this.operation_preferences).max_concurrent_percentage == 25 && one(aws_cloudformation_stack_set.this.operation_preferences).region_concurrency_type == "PARALLEL"
    error_message = "Default rollout: no failure tolerated, a quarter of the accounts at once, regions in parallel."
  }
  assert {
    condition     = keys(aws_cloudformation_stack_set_instance.this) == ["eu-west-1", "us-east-1"] && alltrue([for region, instance in aws_cloudformation_stack_set_instance.this : instance.region == region && instance.stack_set_name == "qscan-spoke"])
    error_message = "One stack set instance per chosen region."
  }
  assert {
    condition     = alltrue([for instance in aws_cloudformation_stack_set_instance.this : one(instance.deployment_targets).organizational_unit_ids == toset(["ou-ab12-cdef3456", "r-ab12"])])
    error_message = "Every instance targets the organizational units (each once)."
  }
  assert {
    condition     = alltrue([for instance in aws_cloudformation_stack_set_instance.this : one(instance.deployment_targets).account_filter_type == null && one(instance.deployment_targets).accounts == null])
    error_message = "Without exclusions every account of the OUs gets the spoke."
  }
  assert {
    condition     = jsonencode(output.regions) == jsonencode(["eu-west-1", "us-east-1"]) && output.stack_set_name == "qscan-spoke"
    error_message = "The outputs name the stack set and its regions."
  }
}

run "delegated_admin_and_sequential_rollout" {
  command = plan

  variables {
    name_prefix           = "sec"
    call_as               = "DELEGATED_ADMIN"
    operation_preferences = { failure_tolerance_percentage = 10, max_concurrent_percentage = 50, region_concurrency_type = "SEQUENTIAL" }
    tags                  = { team = "security" }
    excluded_account_ids  = ["111111111111"]
  }

  assert {
    condition     = alltrue([for instance in aws_cloudformation_stack_set_instance.this : one(instance.deployment_targets).account_filter_type == "DIFFERENCE" && one(instance.deployment_targets).accounts == toset(["111111111111"])])
    error_message = "Excluded accounts (the hub) are filtered out of the OUs' accounts."
  }

  assert {
    condition     = aws_cloudformation_stack_set.this.name == "sec-spoke" && aws_cloudformation_stack_set.this.call_as == "DELEGATED_ADMIN" && alltrue([for instance in aws_cloudformation_stack_set_instance.this : instance.call_as == "DELEGATED_ADMIN"])
    error_message = "call_as applies to the stack set and its instances."
  }
  assert {
    condition     = one(aws_cloudformation_stack_set.this.operation_preferences).region_concurrency_type == "SEQUENTIAL" && one(aws_cloudformation_stack_set.this.operation_preferences).max_concurrent_percentage == 50 && one(aws_cloudformation_stack_set.this.operation_preferences).failure_tolerance_percentage == 10
    error_message = "The operation preferences are passed through."
  }
  assert {
    condition     = aws_cloudformation_stack_set.this.tags == tomap({ team = "security", "qscan:component" = "spoke" })
    error_message = "The caller's tags are added to the component tag."
  }
}

run "read_role_region_outside_the_regions_is_refused" {
  command = plan

  variables {
    read_role_region = "ap-south-1"
  }

  expect_failures = [var.read_role_region]
}

run "bad_organizational_unit_and_account_ids_are_refused" {
  command = plan

  variables {
    organizational_unit_ids = ["123456789012"]
    excluded_account_ids    = ["*"]
  }

  expect_failures = [var.organizational_unit_ids, var.excluded_account_ids]
}

run "no_region_or_a_repeated_region_is_refused" {
  command = plan

  variables {
    regions = ["eu-west-1", "eu-west-1"]
  }

  expect_failures = [var.regions]
}

run "a_template_not_from_the_generator_is_refused" {
  command = plan

  variables {
    template_body = "{\"Resources\":{}}"
  }

  expect_failures = [var.template_body]
}

run "bad_operation_preferences_are_refused" {
  command = plan

  variables {
    call_as               = "MEMBER"
    operation_preferences = { max_concurrent_percentage = 0, region_concurrency_type = "RANDOM" }
  }

  expect_failures = [var.call_as, var.operation_preferences]
}
