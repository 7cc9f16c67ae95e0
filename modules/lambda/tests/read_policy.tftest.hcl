# read_policy_json comes from the real provider: aws_iam_policy_document renders locally (a mocked provider
# would return a random string). The account lookup is overridden and the provider skips every credential
# and account check, so nothing here calls AWS.
provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

override_data {
  target = data.aws_caller_identity.current
  values = { account_id = "123456789012" }
}

override_data {
  target = module.worker.data.aws_caller_identity.current
  values = { account_id = "123456789012" }
}

variables {
  core = {
    kms_key_arn          = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    results_bucket_arn   = "arn:aws:s3:::qscan-results-123456789012-eu-west-1"
    dedupe_table_arn     = "arn:aws:dynamodb:eu-west-1:123456789012:table/qscan-dedupe"
    alert_topic_arn      = "arn:aws:sns:eu-west-1:123456789012:qscan-alerts"
    qualys_secret_arn    = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:qscan/qualys-access-token-AbCdEf"
    log_retention_days   = 365
    decrypt_kms_key_arns = ["arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"]
    handler_environment = {
      QSCAN_DEDUPE_TABLE       = "qscan-dedupe"
      QSCAN_RESULTS_BUCKET     = "qscan-results-123456789012-eu-west-1"
      QSCAN_RESULTS_KMS_KEY_ID = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
      QSCAN_ALERT_TOPIC_ARN    = "arn:aws:sns:eu-west-1:123456789012:qscan-alerts"
      QSCAN_QUALYS_SECRET_ARN  = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:qscan/qualys-access-token-AbCdEf"
    }
  }
  handler_artifact = {
    local_path       = "dist/lambda-handler.zip"
    source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  }
  qscanner_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:qscanner:7"
  existing_trail_arn = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-trail"
}

run "read_policy_reads_functions_layers_and_images" {
  command = plan

  assert {
    condition     = [for s in jsondecode(output.read_policy_json).Statement : s.Sid] == ["ReadDeployedFunctions", "ReadFunctionLayers", "ReadFunctionImages", "EcrRegistryLogin"]
    error_message = "Without tagging or bulk scans the spoke role only reads."
  }
  assert {
    condition     = toset(jsondecode(output.read_policy_json).Statement[0].Action) == toset(["lambda:GetFunction", "lambda:GetFunctionConfiguration"])
    error_message = "resolve_function reads the function (code location or image URI)."
  }
  assert {
    condition     = jsondecode(output.read_policy_json).Statement[1].Action == "lambda:GetLayerVersion" && jsondecode(output.read_policy_json).Statement[1].Resource == "arn:aws:lambda:*:*:layer:*:*"
    error_message = "qscanner downloads the function's layers."
  }
  assert {
    condition     = !can(jsondecode(output.read_policy_json).Statement[2].Condition)
    error_message = "No organization condition without organization_id."
  }
}

run "read_policy_with_tagging_bulk_scans_and_an_organization" {
  command = plan

  variables {
    enable_tagging                = true
    bulk_scan_schedule_expression = "rate(1 day)"
    organization_id               = "o-a1b2c3d4e5"
  }

  assert {
    condition     = [for s in jsondecode(output.read_policy_json).Statement : s.Sid] == ["ReadDeployedFunctions", "ReadFunctionLayers", "ReadFunctionImages", "EcrRegistryLogin", "ListFunctionsForBulkScan", "TagScannedFunctions"]
    error_message = "Tagging and bulk scans add exactly their statements."
  }
  assert {
    condition     = jsondecode(output.read_policy_json).Statement[2].Condition == { StringEquals = { "aws:ResourceOrgID" = "o-a1b2c3d4e5" } }
    error_message = "Image pulls are limited to the organization."
  }
  assert {
    condition     = toset(jsondecode(output.read_policy_json).Statement[5].Condition["ForAllValues:StringEquals"]["aws:TagKeys"]) == toset(["QualysScanStatus", "QualysScanTime", "QualysCritical", "QualysHigh"])
    error_message = "The spoke role may write only the scan-result tags."
  }
}
