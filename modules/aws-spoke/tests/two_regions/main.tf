# Test fixture: the spoke in two regions of one account (the read role only in the first), to show that no
# account-global name collides.
terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

# Replaced by the test file's mock providers of the same names.
provider "aws" {
  region = "eu-west-1"
}

provider "aws" {
  alias  = "second"
  region = "us-east-1"
}

variable "hub" {
  description = "The hub's spoke_config."
  type = object({
    event_bus_arn     = string
    scanner_role_arns = list(string)
    spoke_role_name   = string
    spoke_external_id = string
    organization_id   = optional(string)
    event_patterns    = map(string)
    read_policy_jsons = map(string)
  })
}

module "first" {
  source = "../.."

  hub = var.hub
}

module "second" {
  source    = "../.."
  providers = { aws = aws.second }

  hub              = var.hub
  create_read_role = false
}

output "first" {
  description = "The first region's spoke."
  value       = module.first
}

output "second" {
  description = "The second region's spoke."
  value       = module.second
}
