# The spoke on a mocked provider: one forwarding rule per hub pattern with the pattern verbatim, targeting the
# hub bus with the forwarding role and the encrypted DLQ; the read role trusted by exactly the hub's scanner
# roles with the ExternalId and carrying the hub's read policies verbatim; names that carry the region (two
# regions of one account in one plan); the optional trail; bad hub contracts refused.
mock_provider "aws" {
  source = "./tests/mocks"
}

mock_provider "aws" {
  alias  = "second"
  source = "./tests/mocks"

  mock_data "aws_region" {
    defaults = {
      name = "us-east-1"
    }
  }
}

variables {
  hub = {
    event_bus_arn     = "arn:aws:events:eu-west-1:111111111111:event-bus/qscan-hub"
    scanner_role_arns = ["arn:aws:iam::111111111111:role/qscan-lambda-scanner-eu-west-1", "arn:aws:iam::111111111111:role/qscan-ecr-scanner-eu-west-1"]
    spoke_role_name   = "qscan-spoke-read"
    spoke_external_id = "o-a1b2c3d4e5-qscan"
    organization_id   = "o-a1b2c3d4e5"
    event_patterns = {
      ecr_native    = "{\"detail\":{\"action-type\":[\"PUSH\"],\"result\":[\"SUCCESS\"]},\"detail-type\":[\"ECR Image Action\"],\"source\":[\"aws.ecr\"]}"
      lambda_deploy = "{\"detail\":{\"eventSource\":[\"lambda.amazonaws.com\"]},\"detail-type\":[\"AWS API Call via CloudTrail\"],\"source\":[\"aws.lambda\"]}"
    }
    read_policy_jsons = {
      ecr    = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"ReadPushedImages\",\"Effect\":\"Allow\",\"Action\":\"ecr:BatchGetImage\",\"Resource\":\"*\"}]}"
      lambda = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"ReadDeployedFunctions\",\"Effect\":\"Allow\",\"Action\":\"lambda:GetFunction\",\"Resource\":\"*\"}]}"
    }
  }
}

run "forwards_exactly_the_hub_patterns" {
  command = apply

  assert {
    condition     = jsonencode({ for key, rule in aws_cloudwatch_event_rule.forward : key => rule.event_pattern }) == jsonencode(var.hub.event_patterns) && jsonencode(output.event_patterns) == jsonencode(var.hub.event_patterns)
    error_message = "One rule per hub pattern, each matching the hub's pattern verbatim."
  }
  assert {
    condition     = alltrue([for rule in aws_cloudwatch_event_rule.forward : rule.event_bus_name == "default"])
    error_message = "The rules listen on the spoke's default bus (where the platform events arrive)."
  }
  assert {
    condition = alltrue([
      for target in aws_cloudwatch_event_target.forward :
      target.arn == var.hub.event_bus_arn && target.role_arn == aws_iam_role.forward.arn && one(target.dead_letter_config).arn == aws_sqs_queue.dlq.arn && target.event_bus_name == "default"
    ]) && length(aws_cloudwatch_event_target.forward) == 2
    error_message = "Every rule targets the hub bus with the forwarding role and the DLQ."
  }
  assert {
    condition = jsondecode(aws_iam_role_policy.forward.policy).Statement == [{
      Sid = "PutEventsOnTheHubBus", Effect = "Allow", Action = "events:PutEvents", Resource = "arn:aws:events:eu-west-1:111111111111:event-bus/qscan-hub"
    }]
    error_message = "The forwarding role may put events on the hub bus and nothing else."
  }
  assert {
    condition     = jsondecode(aws_iam_role.forward.assume_role_policy).Statement[0].Principal == { Service = "events.amazonaws.com" } && jsondecode(aws_iam_role.forward.assume_role_policy).Statement[0].Condition == { StringEquals = { "aws:SourceAccount" = "222222222222" } }
    error_message = "Only EventBridge of this account assumes the forwarding role."
  }
  assert {
    condition     = aws_sqs_queue.dlq.kms_master_key_id == aws_kms_key.dlq.arn && aws_kms_key.dlq.enable_key_rotation
    error_message = "The DLQ is encrypted with its own rotated customer managed key."
  }
  assert {
    condition     = [for s in jsondecode(aws_sqs_queue_policy.dlq.policy).Statement : s.Sid] == ["ForwardingRulesDeadLetters", "DenyInsecureTransport"]
    error_message = "Only the forwarding rules send dead letters, over TLS."
  }
}

run "read_role_trusts_the_hub_scanners_with_the_external_id" {
  command = apply

  assert {
    condition     = aws_iam_role.read[0].name == "qscan-spoke-read" && output.read_role_name == var.hub.spoke_role_name
    error_message = "The read role is named as the hub's scanners assume it (hub.spoke_role_name, QSCAN_SPOKE_ROLE_NAME)."
  }
  assert {
    condition = jsondecode(aws_iam_role.read[0].assume_role_policy) == {
      Version = "2012-10-17"
      Statement = [{
        Sid       = "HubScanners"
        Effect    = "Allow"
        Principal = { AWS = ["arn:aws:iam::111111111111:role/qscan-ecr-scanner-eu-west-1", "arn:aws:iam::111111111111:role/qscan-lambda-scanner-eu-west-1"] }
        Action    = "sts:AssumeRole"
        Condition = { StringEquals = { "sts:ExternalId" = "o-a1b2c3d4e5-qscan", "aws:PrincipalOrgID" = "o-a1b2c3d4e5" } }
      }]
    }
    error_message = "Exactly the hub's scanner roles, with the ExternalId and while in the organization, may assume the read role: ${aws_iam_role.read[0].assume_role_policy}"
  }
  assert {
    condition     = jsonencode({ for key, policy in aws_iam_role_policy.read : key => policy.policy }) == jsonencode(var.hub.read_policy_jsons)
    error_message = "The read role carries the hub platforms' read policies verbatim, one inline policy each."
  }
  assert {
    condition     = aws_iam_role_policy.read["lambda"].name == "qscan-spoke-read-lambda" && output.trail_arn == null && length(module.trail) == 0
    error_message = "Policies are named after the platform; no trail unless create_trail."
  }
}

run "without_an_organization_the_external_id_alone" {
  command = plan

  variables {
    hub = merge(var.hub, { organization_id = null })
  }

  assert {
    condition     = jsondecode(output.read_trust_policy_json).Statement[0].Condition == { StringEquals = { "sts:ExternalId" = "o-a1b2c3d4e5-qscan" } }
    error_message = "A hub without an organization (listed accounts) is trusted by role ARN and ExternalId only."
  }
}

run "two_regions_of_one_account_do_not_collide" {
  command = apply

  module {
    source = "./tests/two_regions"
  }

  assert {
    condition     = output.first.forward_role_name == "qscan-spoke-forward-eu-west-1" && output.second.forward_role_name == "qscan-spoke-forward-us-east-1"
    error_message = "The forwarding role (an account-global IAM name) carries the region."
  }
  assert {
    condition     = length(setintersection(values(output.first.rule_names), values(output.second.rule_names))) == 0 && output.first.rule_names.ecr_native == "qscan-fwd-ecr-native-eu-west-1"
    error_message = "Rule names carry the region too: ${jsonencode(output.first.rule_names)} vs ${jsonencode(output.second.rule_names)}"
  }
  assert {
    condition     = output.first.read_role_name == "qscan-spoke-read" && output.second.read_role_name == null
    error_message = "The account-wide read role exists once per account (create_read_role = false in the second region)."
  }
  assert {
    condition     = jsonencode(output.first.event_patterns) == jsonencode(output.second.event_patterns) && jsonencode(output.first.event_patterns) == jsonencode(var.hub.event_patterns)
    error_message = "Both regions forward the same hub patterns."
  }
}

run "optional_trail" {
  command = plan

  variables {
    create_trail     = true
    create_read_role = false
  }

  assert {
    condition     = length(module.trail) == 1 && length(aws_iam_role.read) == 0 && length(aws_iam_role_policy.read) == 0
    error_message = "create_trail adds the management-events trail; create_read_role = false creates no read role or policy."
  }
}

run "trail_settings_without_a_trail_are_refused" {
  command = plan

  variables {
    trail_bucket_force_destroy = true
    trail_multi_region         = true
  }

  expect_failures = [var.trail_bucket_force_destroy, var.trail_multi_region]
}

run "bad_hub_contract_is_refused" {
  command = plan

  variables {
    hub = {
      event_bus_arn     = "qscan-hub"
      scanner_role_arns = []
      spoke_role_name   = "qscan spoke"
      spoke_external_id = "x"
      event_patterns    = { "ECR" = "{}" }
      read_policy_jsons = {}
    }
  }

  expect_failures = [var.hub]
}
