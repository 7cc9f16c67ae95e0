"""Image resolution for any OCI registry: a reference (tag or digest) -> the digest that will actually run.

Modules (import the one you need; nothing here is imported by a handler at module level, see docs/registry.md):

- `errors`: the typed errors, each also a `qscan.errors` type (permanent `InvalidEvent`, transient
  `TransientError`), so handlers skip or retry by type alone;
- `reference`: where a registry's distribution API lives (Docker Hub: `registry-1.docker.io`) and which hosts
  may receive its credentials;
- `challenge`: `WWW-Authenticate` parsing (Bearer, Basic);
- `client`: the distribution HTTP client (HEAD/GET manifests, token flow, retries, size cap, redirects);
- `credentials`: per-registry credential sources (static, a named secret, ACR token exchange) and the
  environment qscanner gets for one scan;
- `platform`: which manifest of an image index the workload runs;
- `resolver`: the one resolution path over a `ManifestSource` (HTTP here, `ecr:BatchGetImage` in `qscan.aws.ecr`).
"""
