# Terraform >= 1.5: startswith(). No provider: the module only reads the manifest file.
terraform {
  required_version = ">= 1.5"
}
