"""ECR lookups: a pushed manifest (what it is, and a tag's digest) before the target is claimed (DESIGN §3 step 2).

ECR is one registry kind of the core resolver (`qscan.registry.resolver`, docs/registry.md): `resolve` turns an
ECR tag or digest into its digest through the same `Resolver` every registry uses, with `EcrManifestSource`
(`ecr:BatchGetImage`, which reads and classifies the manifest in the same call) as its manifest source. The
registry package is imported on first use (the handler's cold import stays small). `EcrCredentials` gives the
resolver's HTTP client and qscanner an ECR registry's credentials through `ecr:GetAuthorizationToken`.

`fetch_manifest` reads one manifest with `ecr:BatchGetImage` from the given registry (the account that owns the
repository: pass the registry id, never rely on the caller's default registry, so a hub reads a spoke's
repository with the spoke's credentials) and classifies it with `qscan.oci.classify_manifest`. The ECR handler
scans only image manifests (`require_image`): image indexes, build attestations and other artifacts are
skipped with their reason (see docs/ecr.md). The manifest is never echoed, only its digest and kind.

Errors: an image or repository that no longer exists gives None (the caller decides: a tag that cannot be
resolved is permanent for its event, `InvalidEvent`; a digest is scanned unverified and qscanner's own pull
reports it). Malformed ids are `InvalidEvent`; throttling, 5xx, KMS and upstream failures are `TransientError`;
access denied is `ConfigError` (the scanner's or the spoke role's `ecr:BatchGetImage` permission is missing).
"""

from __future__ import annotations

import base64
import logging
import re
from datetime import datetime
from typing import Any, Protocol

from qscan.cloud_errors import aws_error, aws_error_code
from qscan.errors import InvalidEvent, InvalidReference, TransientError, UnsupportedEvent
from qscan.oci import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_SCHEMA1,
    OCI_INDEX,
    OCI_MANIFEST,
    Manifest,
    ManifestError,
    classify_manifest,
)
from qscan.refs import (
    ImageRef,
    classify_registry,
    ecr_registry_host,
    image_ref,
    is_valid_digest,
    validate_digest,
    validate_repository,
    validate_tag,
)
from qscan.structs import replace, struct
from qscan.target import ScanTarget

LOG = logging.getLogger(__name__)

GONE_CODES = frozenset({"ImageNotFoundException", "RepositoryNotFoundException"})
GONE_FAILURES = frozenset({"ImageNotFound", "ImageTagDoesNotMatchDigest"})
INVALID_FAILURES = frozenset({"InvalidImageDigest", "InvalidImageTag", "MissingDigestAndTag"})
# Every type ECR stores, so it returns each manifest as pushed instead of converting or refusing it.
ACCEPTED_MEDIA_TYPES = (
    OCI_INDEX,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    DOCKER_MANIFEST,
    *sorted(DOCKER_SCHEMA1),
)
_SAFE_CODE = r"[A-Za-z0-9]{1,64}"  # a pattern string, compiled on first use (re's cache)


@struct
class EcrManifest:
    """One manifest as ECR returned it: its digest and what it is (None: it could not be read)."""

    digest: str
    manifest: Manifest | None


def fetch_manifest(
    client: Any, *, registry_id: str, repository: str, digest: str | None = None, tag: str | None = None
) -> EcrManifest | None:
    """The manifest `digest` (else `tag`) in `registry_id`/`repository`, classified; None when it is gone."""
    validate_repository(repository)
    if (digest is None) == (tag is None):
        raise ValueError("pass exactly one of digest and tag")
    image_id = (
        {"imageDigest": validate_digest(digest)} if digest is not None else {"imageTag": validate_tag(tag)}
    )
    action = f"ecr batch_get_image {registry_id}/{repository}"
    try:
        response = client.batch_get_image(
            registryId=registry_id,
            repositoryName=repository,
            imageIds=[image_id],
            acceptedMediaTypes=list(ACCEPTED_MEDIA_TYPES),
        )
    except Exception as exc:
        if aws_error_code(exc) in GONE_CODES:
            return None
        mapped = aws_error(exc, action)
        if mapped is not None:
            raise mapped from exc
        raise
    images = [i for i in response.get("images") or [] if isinstance(i, dict)]
    if not images:
        codes = {str(f.get("failureCode")) for f in response.get("failures") or [] if isinstance(f, dict)}
        if codes & GONE_FAILURES:
            return None
        if codes & INVALID_FAILURES:
            raise InvalidEvent(f"{action}: ECR refused the image id ({sorted(codes & INVALID_FAILURES)[0]})")
        shown = ",".join(sorted(c for c in codes if re.fullmatch(_SAFE_CODE, c))) or "none"
        raise TransientError(f"{action}: no image returned (failure {shown})")
    image = images[0]
    image_digest = (image.get("imageId") or {}).get("imageDigest")
    try:
        found = validate_digest(str(image_digest))
    except InvalidReference:
        raise InvalidEvent(f"{action} returned a digest qscan does not accept") from None
    if digest is not None and found != digest:
        raise TransientError(f"{action}: ECR answered for another digest")
    body, media_type = image.get("imageManifest"), image.get("imageManifestMediaType")
    try:
        if not isinstance(body, str):
            raise ManifestError("no manifest in the answer")
        manifest = classify_manifest(body, media_type if isinstance(media_type, str) else None)
    except ManifestError as exc:
        LOG.warning("%s: manifest of %s unreadable (%s)", action, found, exc, extra={"digest": found})
        manifest = None
    return EcrManifest(found, manifest)


class Classified(Protocol):
    """A manifest's digest and classification: an `EcrManifest` or a `qscan.registry.resolver.Resolution`."""

    @property
    def digest(self) -> str: ...

    @property
    def manifest(self) -> Manifest | None: ...


def require_image(found: Classified, repository: str) -> None:
    """Raise `UnsupportedEvent` (skipped with the reason) unless `found` is a container image manifest."""
    manifest = found.manifest
    if manifest is None or manifest.scannable:
        return
    LOG.info(
        "not scanned: %s@%s is %s",
        repository,
        found.digest,
        manifest.kind,
        extra={
            "digest": found.digest,
            "manifest_kind": manifest.kind,
            "platforms": list(manifest.platforms),
            "attestations": manifest.attestations,
        },
    )
    raise UnsupportedEvent(f"ECR {manifest.reason}")


class EcrManifestSource:
    """`qscan.registry.resolver.ManifestSource` over `ecr:BatchGetImage` in one registry (account)."""

    def __init__(self, client: Any, registry_id: str) -> None:
        self.client, self.registry_id = client, registry_id

    def lookup(self, ref: ImageRef, reference: str) -> Any:
        from qscan.registry.errors import ManifestNotFound  # noqa: PLC0415 - on first use
        from qscan.registry.resolver import Fetched  # noqa: PLC0415 - on first use

        by_digest = is_valid_digest(reference)
        found = fetch_manifest(
            self.client,
            registry_id=self.registry_id,
            repository=ref.repository,
            digest=reference if by_digest else None,
            tag=None if by_digest else reference,
        )
        if found is None:
            raise ManifestNotFound(
                f"ECR image {ref.repository}{'@' if by_digest else ':'}{reference} no longer exists: "
                "deleted or retagged since the event"
            )
        media_type = found.manifest.media_type if found.manifest else None
        return Fetched(found.digest, media_type, found.manifest)

    def read(self, ref: ImageRef, digest: str) -> Any:
        return self.lookup(ref, digest)


def resolve(
    client: Any,
    *,
    registry_id: str,
    region: str,
    repository: str,
    tag: str | None = None,
    digest: str | None = None,
    descend: bool = False,
) -> Any:
    """The `qscan.registry.resolver.Resolution` of an ECR tag or digest (`ManifestNotFound` when it is gone).

    `descend=False` (push events): an image index is the answer itself (`require_image` skips it; each platform
    manifest arrives as its own event). `descend=True` (workloads): the platform manifest that runs.
    """
    from qscan.registry.resolver import Resolver  # noqa: PLC0415 - on first use

    source = EcrManifestSource(client, registry_id)
    ref = image_ref(ecr_registry_host(registry_id, region), repository, tag, digest)
    return Resolver(lambda _: source).resolve(ref, descend=descend)


def resolve_tag_digest(client: Any, *, registry_id: str, repository: str, tag: str) -> str:
    """The manifest digest `tag` points to in `registry_id`/`repository` (`InvalidEvent` when it is gone)."""
    region = str(client.meta.region_name)
    return str(resolve(client, registry_id=registry_id, region=region, repository=repository, tag=tag).digest)


class EcrCredentials:
    """`qscan.registry.credentials.CredentialSource` for ECR hosts: `ecr:GetAuthorizationToken` per account.

    `client_for(account, region)` gives an ECR client able to read that account (the spoke role's for another
    account). Tokens are cached until `REFRESH_MARGIN_SECONDS` before their `expiresAt` (12 h tokens).
    """

    REFRESH_MARGIN_SECONDS = 600.0

    def __init__(self, client_for: Any, *, now: Any = None) -> None:
        import time  # noqa: PLC0415

        self._client_for = client_for
        self._now = now or time.time
        self._cache: dict[str, tuple[float, Any]] = {}

    def credential_for(self, registry: str) -> Any:
        from qscan.registry.credentials import RegistryCredential  # noqa: PLC0415 - on first use

        info = classify_registry(registry)
        if info.kind != "ecr" or info.account is None or info.region is None:
            return None
        cached = self._cache.get(registry)
        if cached and self._now() < cached[0]:
            return cached[1]
        action = f"ecr get_authorization_token {info.account}"
        try:
            answer = self._client_for(info.account, info.region).get_authorization_token(
                registryIds=[info.account]
            )
        except Exception as exc:
            mapped = aws_error(exc, action)
            if mapped is not None:
                raise mapped from exc
            raise
        data = [d for d in answer.get("authorizationData") or [] if isinstance(d, dict)]
        try:
            user, _, password = base64.b64decode(str(data[0]["authorizationToken"])).decode().partition(":")
        except (IndexError, KeyError, ValueError):
            raise TransientError(f"{action}: no usable authorization token in the answer") from None
        if not user or not password:
            raise TransientError(f"{action}: no usable authorization token in the answer")
        credential = RegistryCredential(user, password)
        expires = data[0].get("expiresAt")
        until = float(expires.timestamp()) if isinstance(expires, datetime) else self._now() + 3600.0
        self._cache[registry] = (until - self.REFRESH_MARGIN_SECONDS, credential)
        return credential


def with_registry(target: ScanTarget, account: str, region: str) -> ScanTarget:
    """An ECR target completed with the registry host and reference built from account and region.

    Events delivered without `account` or `region` (moto's EventBridge drops `account`) leave `registry` and
    `image` unset; the handler fills in the function's own account and region, which is where such an event
    came from.
    """
    registry = ecr_registry_host(account, region)
    image = image_ref(registry, target.repository or "", target.tag, target.digest).canonical
    changes: dict[str, Any] = {"account": account, "region": region, "registry": registry, "image": image}
    if target.lookup is None:
        return target.resolved(**changes)
    return replace(target, **changes)  # still needs its digest: keep the lookup (and no dedupe key)
