# Terraform >= 1.5: optional() object attributes, strcontains()/startswith() and lifecycle preconditions.
# hashicorp/aws >= 5.40: SQS event source mapping scaling_config, CloudTrail exclude_management_event_sources
# and every other argument used here exist by 5.40; < 6.0 because 6.x renames data.aws_region.name
# (tested with 5.100).
terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 6.0"
    }
  }
}
