# Mock values the provider's validators and the assertions look at (spoke account 222222222222, eu-west-1).
mock_data "aws_caller_identity" {
  defaults = {
    account_id = "222222222222"
    arn        = "arn:aws:iam::222222222222:user/tester"
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

mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:eu-west-1:222222222222:key/11111111-2222-3333-4444-555555555555"
    key_id = "11111111-2222-3333-4444-555555555555"
  }
}

mock_resource "aws_sqs_queue" {
  defaults = {
    arn = "arn:aws:sqs:eu-west-1:222222222222:qscan-spoke-forward-dlq"
    id  = "https://sqs.eu-west-1.amazonaws.com/222222222222/qscan-spoke-forward-dlq"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn = "arn:aws:iam::222222222222:role/qscan-spoke-forward-eu-west-1"
  }
}

mock_resource "aws_cloudwatch_event_rule" {
  defaults = {
    arn = "arn:aws:events:eu-west-1:222222222222:rule/qscan-fwd-eu-west-1"
  }
}

mock_resource "aws_s3_bucket" {
  defaults = {
    arn = "arn:aws:s3:::qscan-spoke-trail-222222222222-eu-west-1"
    id  = "qscan-spoke-trail-222222222222-eu-west-1"
  }
}

mock_resource "aws_cloudtrail" {
  defaults = {
    arn = "arn:aws:cloudtrail:eu-west-1:222222222222:trail/qscan-spoke-trail-eu-west-1"
  }
}
