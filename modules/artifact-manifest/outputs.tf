output "handler_artifacts" {
  description = "Each of `names` => { local_path, source_code_hash }: the manifest's zip (absolute, or under the folder above the manifest's) and its base64 SHA-256; a placeholder when the manifest or the entry is missing."
  value       = { for name in var.names : name => lookup(local.found, name, local.placeholder) }
}

output "qscanner_layer" {
  description = "The qscanner layer zip `QSCANNER_BINARY=... make package` built (the manifest's \"qscanner-layer\" entry) as { local_path, source_code_hash }; null when the manifest has none."
  value       = lookup(local.found, "qscanner-layer", null)
}

output "manifest_found" {
  description = "Whether the manifest file exists and parses as JSON."
  value       = local.manifest != null
}
