# The example plans against a mocked provider: the scan store, the trail, the deployment rule, the queue and
# the scanner.
mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  handler_zip        = "dist/aws-lambda-89abcdef01234567.zip"
  handler_zip_sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  qscanner_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:qscanner:7"
}

run "plans_the_trail_rule_queue_and_scanner" {
  command = plan

  assert {
    condition     = module.trail.trail_name == "qscan-trail-eu-west-1" && module.lambda.rule_name == "qscan-lambda-deploy"
    error_message = "A trail feeds the deployment rule: ${module.trail.trail_name}, ${module.lambda.rule_name}"
  }
  assert {
    condition     = module.lambda.queue_name == "qscan-lambda-scan" && module.lambda.self_function_names == tolist(["qscan-lambda-scanner"])
    error_message = "The rule feeds the scan queue of a scanner that never scans itself."
  }
}
