# The hub bus and its policy on a mocked provider: the organization and/or the listed accounts are admitted and
# nobody else (the rendered policy JSON is read back), neither list is refused, `*` as an account is refused,
# and spoke_config carries the contract a spoke reads.
mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_resource "aws_cloudwatch_event_bus" {
    defaults = {
      arn = "arn:aws:events:eu-west-1:111111111111:event-bus/qscan-hub"
    }
  }
}

variables {
  spoke_external_id = "o-a1b2c3d4e5-qscan"
  scanner_role_arns = ["arn:aws:iam::111111111111:role/qscan-lambda-scanner-eu-west-1", "arn:aws:iam::111111111111:role/qscan-ecr-scanner-eu-west-1"]
  event_patterns    = { ecr_native = "{\"source\":[\"aws.ecr\"]}" }
  read_policy_jsons = { ecr = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
}

run "organization_only" {
  command = apply

  variables {
    organization_id = "o-a1b2c3d4e5"
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_bus_policy.this.policy) == {
      Version = "2012-10-17"
      Statement = [{
        Sid       = "OrganizationPutEvents"
        Effect    = "Allow"
        Principal = "*"
        Action    = "events:PutEvents"
        Resource  = "arn:aws:events:eu-west-1:111111111111:event-bus/qscan-hub"
        Condition = { StringEquals = { "aws:PrincipalOrgID" = "o-a1b2c3d4e5" } }
      }]
    }
    error_message = "The organization (and nobody else) may put events on the hub bus: ${aws_cloudwatch_event_bus_policy.this.policy}"
  }
  assert {
    condition     = aws_cloudwatch_event_bus.this.name == "qscan-hub" && aws_cloudwatch_event_bus_policy.this.event_bus_name == "qscan-hub"
    error_message = "The policy is on the hub bus."
  }
  assert {
    condition     = output.bus_policy_json == aws_cloudwatch_event_bus_policy.this.policy
    error_message = "bus_policy_json is the applied policy."
  }
}

run "accounts_only" {
  command = apply

  variables {
    account_ids = ["333333333333", "222222222222", "333333333333"]
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_bus_policy.this.policy).Statement == [{
      Sid       = "AccountsPutEvents"
      Effect    = "Allow"
      Principal = { AWS = ["arn:aws:iam::222222222222:root", "arn:aws:iam::333333333333:root"] }
      Action    = "events:PutEvents"
      Resource  = "arn:aws:events:eu-west-1:111111111111:event-bus/qscan-hub"
    }]
    error_message = "Exactly the listed accounts (once each) may put events, with no `*` principal: ${aws_cloudwatch_event_bus_policy.this.policy}"
  }
}

run "organization_and_accounts" {
  command = apply

  variables {
    organization_id = "o-a1b2c3d4e5"
    account_ids     = ["222222222222"]
  }

  assert {
    condition     = [for s in jsondecode(aws_cloudwatch_event_bus_policy.this.policy).Statement : s.Sid] == ["OrganizationPutEvents", "AccountsPutEvents"]
    error_message = "Both the organization and the listed account (an account outside the organization) are admitted."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(aws_cloudwatch_event_bus_policy.this.policy).Statement :
      s.Principal != "*" || try(s.Condition.StringEquals["aws:PrincipalOrgID"], null) == "o-a1b2c3d4e5"
    ])
    error_message = "A `*` principal appears only with the organization condition."
  }
}

run "neither_organization_nor_accounts_is_refused" {
  command = plan

  expect_failures = [var.organization_id]
}

run "star_as_an_account_is_refused" {
  command = plan

  variables {
    account_ids = ["*"]
  }

  expect_failures = [var.account_ids]
}

run "bad_inputs_are_refused" {
  command = plan

  variables {
    organization_id   = "o-a1b2c3d4e5"
    account_ids       = ["arn:aws:iam::222222222222:root"]
    spoke_external_id = "x"
    scanner_role_arns = []
    event_patterns    = { "ECR-Native" = "{}" }
    read_policy_jsons = { ecr = "not json" }
  }

  expect_failures = [var.account_ids, var.spoke_external_id, var.scanner_role_arns, var.event_patterns, var.read_policy_jsons]
}

run "spoke_config_is_the_contract" {
  command = apply

  variables {
    organization_id = "o-a1b2c3d4e5"
  }

  assert {
    condition = jsonencode(output.spoke_config) == jsonencode({
      event_bus_arn     = "arn:aws:events:eu-west-1:111111111111:event-bus/qscan-hub"
      scanner_role_arns = ["arn:aws:iam::111111111111:role/qscan-ecr-scanner-eu-west-1", "arn:aws:iam::111111111111:role/qscan-lambda-scanner-eu-west-1"]
      spoke_role_name   = "qscan-spoke-read"
      spoke_external_id = "o-a1b2c3d4e5-qscan"
      organization_id   = "o-a1b2c3d4e5"
      event_patterns    = { ecr_native = "{\"source\":[\"aws.ecr\"]}" }
      read_policy_jsons = { ecr = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
    })
    error_message = "spoke_config carries the bus, the trusted scanner roles, the role name (default <name_prefix>-spoke-read), the ExternalId, the organization, and the patterns and policies verbatim."
  }
  assert {
    condition     = output.spoke_role_arn_pattern == "arn:aws:iam::*:role/qscan-spoke-read"
    error_message = "The scanners assume the spoke role by name in any account."
  }
}

run "explicit_spoke_role_name" {
  command = plan

  variables {
    organization_id = "o-a1b2c3d4e5"
    spoke_role_name = "secscan-read"
  }

  assert {
    condition     = output.spoke_role_name == "secscan-read" && output.spoke_config.spoke_role_name == "secscan-read"
    error_message = "An explicit spoke_role_name wins, in both outputs."
  }
}
