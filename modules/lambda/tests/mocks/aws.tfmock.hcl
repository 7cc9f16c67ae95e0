# Shared mock values: data sources and the ARNs provider validators or assertions look at.
mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/tester"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition  = "aws"
    dns_suffix = "amazonaws.com"
  }
}

mock_data "aws_region" {
  defaults = {
    name = "eu-west-1"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn = "arn:aws:iam::123456789012:role/qscan-lambda-scanner-eu-west-1"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/qscan-lambda-scanner"
  }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:qscan-lambda-scanner"
  }
}

mock_resource "aws_lambda_layer_version" {
  defaults = {
    arn = "arn:aws:lambda:eu-west-1:123456789012:layer:qscan-lambda-qscanner:1"
  }
}

mock_resource "aws_cloudwatch_event_rule" {
  defaults = {
    arn = "arn:aws:events:eu-west-1:123456789012:rule/qscan-lambda-deploy"
  }
}

mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:eu-west-1:123456789012:key/99999999-8888-7777-6666-555555555555"
    key_id = "99999999-8888-7777-6666-555555555555"
  }
}

mock_resource "aws_s3_bucket" {
  defaults = {
    arn = "arn:aws:s3:::qscan-lambda-trail-123456789012-eu-west-1"
  }
}

mock_resource "aws_cloudtrail" {
  defaults = {
    arn = "arn:aws:cloudtrail:eu-west-1:123456789012:trail/qscan-lambda-trail-eu-west-1"
  }
}
