# Terraform >= 1.9: variable validations that refer to another variable (read_role_region to regions).
# hashicorp/aws 5.x like the other modules (tested with 5.100).
terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 6.0"
    }
  }
}
