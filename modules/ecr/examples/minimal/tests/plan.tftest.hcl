# The example plans against a mocked provider: the scan store, the push rule, the queue and the scanner.
mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  handler_zip        = "dist/aws-ecr-0123456789abcdef.zip"
  handler_zip_sha256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  qscanner_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:qscanner:7"
}

run "plans_the_store_rule_queue_and_scanner" {
  command = plan

  assert {
    condition     = module.ecr.native_rule_name == "qscan-ecr-push" && module.ecr.queue_name == "qscan-ecr-scan" && module.ecr.function_name == "qscan-ecr-scanner"
    error_message = "The push rule feeds the scan queue the scanner consumes: ${module.ecr.native_rule_name}, ${module.ecr.queue_name}, ${module.ecr.function_name}"
  }
}
