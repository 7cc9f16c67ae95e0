# The example plans against a mocked provider: no trail of its own (the organization trail feeds the rule),
# the bulk-scan schedule, the tag keys and the skipped scanners.
mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  handler_artifact           = { s3_bucket = "artifacts-123456789012", s3_key = "qscan/aws-lambda.zip" }
  qscanner_layer_arn         = "arn:aws:lambda:eu-west-1:123456789012:layer:qscanner:7"
  organization_trail_arn     = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-trail"
  organization_id            = "o-a1b2c3d4e5"
  other_qscan_function_names = ["secscan-ecr-scanner"]
}

run "plans_the_rule_schedule_and_scanner_without_a_trail" {
  command = plan

  assert {
    condition     = module.lambda.trail_arn == "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-trail"
    error_message = "The organization trail is used, no second trail is created."
  }
  assert {
    condition     = module.lambda.bulk_scan_rule_name == "secscan-lambda-bulk-scan" && module.lambda.queue_name == "secscan-lambda-scan"
    error_message = "The daily bulk scan feeds the scan queue."
  }
  assert {
    condition     = module.lambda.self_function_names == tolist(["secscan-lambda-scanner", "secscan-ecr-scanner"]) && length(module.lambda.scan_tag_keys) == 4
    error_message = "Both scanners are skipped by exact name; the scan-result tags are written."
  }
}
