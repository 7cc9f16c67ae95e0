# environments/local runs only against a local moto server. The endpoints come from the override file the
# harness writes next to this one (gitignored):
#   python -m tests.harness.moto_cli provider-override --state-dir .demo/moto --root environments/local
# The keys are deliberately fake, so without that override nothing can reach (or create anything in) a real
# AWS account: requests fail with an invalid token. Few retries keep a failing local run short.
provider "aws" {
  #checkov:skip=CKV_AWS_41:not credentials: placeholder keys for a local moto server, useless against AWS
  region                      = var.region
  access_key                  = "moto-local-only"
  secret_key                  = "moto-local-only"
  max_retries                 = 2
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  skip_region_validation      = true
  s3_use_path_style           = true

  default_tags {
    tags = { "qscan:environment" = "local" }
  }
}
