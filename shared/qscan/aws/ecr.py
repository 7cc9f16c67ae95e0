"""ECR lookups: a pushed manifest (what it is, and a tag's digest) before the target is claimed (DESIGN §3 step 2).

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

import logging
import re
from dataclasses import dataclass, replace
from typing import Any

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
from qscan.refs import ecr_registry_host, image_ref, validate_digest, validate_repository, validate_tag
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
_SAFE_CODE = re.compile(r"[A-Za-z0-9]{1,64}")


@dataclass(frozen=True, slots=True)
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
        shown = ",".join(sorted(c for c in codes if _SAFE_CODE.fullmatch(c))) or "none"
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


def require_image(found: EcrManifest, repository: str) -> None:
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


def resolve_tag_digest(client: Any, *, registry_id: str, repository: str, tag: str) -> str:
    """The manifest digest `tag` points to in `registry_id`/`repository` (`InvalidEvent` when it is gone)."""
    found = fetch_manifest(client, registry_id=registry_id, repository=repository, tag=tag)
    if found is None:
        raise InvalidEvent(
            f"ECR image {repository}:{tag} no longer exists: deleted or retagged since the event"
        )
    return found.digest


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
