provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, { "qscan:environment" = "aws-spoke" })
  }
}
