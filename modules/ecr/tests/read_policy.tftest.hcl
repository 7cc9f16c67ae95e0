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
    local_path       = "dist/ecr-handler.zip"
    source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  }
  qscanner_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:qscanner:7"
}

run "read_policy_reads_every_repository_by_default" {
  command = plan

  assert {
    condition = jsondecode(output.read_policy_json).Statement == [
      {
        Sid      = "ReadPushedImages"
        Effect   = "Allow"
        Action   = ["ecr:GetDownloadUrlForLayer", "ecr:DescribeImages", "ecr:BatchGetImage", "ecr:BatchCheckLayerAvailability"]
        Resource = "arn:aws:ecr:*:*:repository/*"
      },
      {
        Sid      = "EcrRegistryLogin"
        Effect   = "Allow"
        Action   = "ecr:GetAuthorizationToken"
        Resource = "*"
      },
    ]
    error_message = "A spoke's read role needs the image reads and the registry login, nothing else."
  }
}

run "read_policy_follows_the_included_repositories" {
  command = plan

  variables {
    repository_include = ["team-a/*", "base"]
  }

  assert {
    condition     = toset(jsondecode(output.read_policy_json).Statement[0].Resource) == toset(["arn:aws:ecr:*:*:repository/team-a/*", "arn:aws:ecr:*:*:repository/base"])
    error_message = "The spoke role may read only the repositories this module scans."
  }
}
