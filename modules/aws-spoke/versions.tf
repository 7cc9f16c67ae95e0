# Terraform >= 1.9: variable validations that refer to another variable (the trail settings to create_trail).
# hashicorp/aws 5.x like the platform modules (tested with 5.100; 6.x renames data.aws_region.name).
terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 6.0"
    }
  }
}
