# Terraform >= 1.9 like modules/aws-spoke (variable validations that refer to other variables).
# hashicorp/aws 5.x like the modules (tested with 5.100).
terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 6.0"
    }
  }
}
