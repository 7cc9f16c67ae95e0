# The one reading of dist/manifest.json (scripts/package.py writes it) for the roots in environments/: each
# artifact's zip path and base64 SHA-256, the shape of the modules' `handler_artifact` variables.
#
# try(): a root must still `terraform validate` before `make package`, so a missing manifest or entry gives a
# placeholder package here; the root's validation of its manifest_path (which names the missing entry and says
# to run `make package`) stops a plan before a placeholder can reach a cloud.

locals {
  manifest  = try(jsondecode(file(var.manifest_path)), null)
  artifacts = try(local.manifest.artifacts, {})
  base      = dirname(dirname(var.manifest_path))

  # The placeholder hash is that of an empty file: never a real package's.
  placeholder = { local_path = "run-make-package-first.zip", source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" }

  found = {
    for name, entry in local.artifacts : name => {
      local_path       = startswith(entry.path, "/") ? entry.path : "${local.base}/${entry.path}"
      source_code_hash = entry.sha256_base64
    } if can(tostring(entry.path)) && can(tostring(entry.sha256_base64))
  }
}
