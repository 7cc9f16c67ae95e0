# The trail moved from modules/lambda (create_trail) to modules/aws-trail (issue 12): these blocks carry an
# existing state's trail, bucket and key over, so upgrading recreates nothing (tests/integration/test_env_upgrade.py).
moved {
  from = module.lambda.aws_cloudtrail.this[0]
  to   = module.trail[0].aws_cloudtrail.this
}

moved {
  from = module.lambda.aws_kms_key.trail[0]
  to   = module.trail[0].aws_kms_key.this
}

moved {
  from = module.lambda.aws_kms_alias.trail[0]
  to   = module.trail[0].aws_kms_alias.this
}

moved {
  from = module.lambda.aws_s3_bucket.trail[0]
  to   = module.trail[0].aws_s3_bucket.this
}

moved {
  from = module.lambda.aws_s3_bucket_public_access_block.trail[0]
  to   = module.trail[0].aws_s3_bucket_public_access_block.this
}

moved {
  from = module.lambda.aws_s3_bucket_ownership_controls.trail[0]
  to   = module.trail[0].aws_s3_bucket_ownership_controls.this
}

moved {
  from = module.lambda.aws_s3_bucket_versioning.trail[0]
  to   = module.trail[0].aws_s3_bucket_versioning.this
}

moved {
  from = module.lambda.aws_s3_bucket_server_side_encryption_configuration.trail[0]
  to   = module.trail[0].aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = module.lambda.aws_s3_bucket_lifecycle_configuration.trail[0]
  to   = module.trail[0].aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = module.lambda.aws_s3_bucket_policy.trail[0]
  to   = module.trail[0].aws_s3_bucket_policy.this
}
