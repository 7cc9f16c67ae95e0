variable "manifest_path" {
  description = "The artifact manifest written by `make package`, as the root gives it (a relative path is relative to the directory Terraform runs in, like every path in the root). Artifact paths inside it are relative to the directory above the manifest's folder (the repository root)."
  type        = string
  nullable    = false
}

variable "names" {
  description = "The handler packages to look up, by manifest name (e.g. \"aws-ecr\", \"azure-functions\")."
  type        = list(string)
  nullable    = false
}
