"""What only Azure runs: the counterparts of `qscan.aws` for ACI container groups and ACA apps and jobs.

- `workloads`: a container resource read through ARM (azure-mgmt-containerinstance, azure-mgmt-appcontainers)
  -> its container images -> scan targets; qscan's own resources are recognized by tag;
- `acr`: Azure Container Registry credentials through the managed identity (AAD token -> ACR refresh token),
  a `qscan.registry.credentials.CredentialSource`.

Nothing here is imported by the core at module level: AWS artifacts leave this package out.
"""
