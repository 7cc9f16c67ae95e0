"""ECR lookups: a tag's manifest digest (DESIGN §3 step 2: resolve tag -> digest before claiming).

`resolve_tag_digest` asks `ecr:DescribeImages` for the tag in the given registry (the account that owns the
repository: pass the registry id, never rely on the caller's default registry, so a hub reads a spoke's
repository with the spoke's credentials). An image or repository that no longer exists is permanent for that
event (deleted or retagged since the push): `InvalidEvent`, skipped with the reason. Throttling and 5xx are
`TransientError`; access denied is `ConfigError` (the scanner's or the spoke role's ECR read permission is
missing).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from qscan.cloud_errors import aws_error
from qscan.errors import InvalidEvent, InvalidReference, TransientError
from qscan.refs import ecr_registry_host, image_ref, validate_digest, validate_repository, validate_tag
from qscan.target import ScanTarget

GONE_CODES = frozenset({"ImageNotFoundException", "RepositoryNotFoundException"})


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def resolve_tag_digest(client: Any, *, registry_id: str, repository: str, tag: str) -> str:
    """The manifest digest `tag` points to in `registry_id`/`repository`."""
    validate_repository(repository)
    validate_tag(tag)
    action = f"ecr describe_images {registry_id}/{repository}"
    try:
        response = client.describe_images(
            registryId=registry_id, repositoryName=repository, imageIds=[{"imageTag": tag}]
        )
    except Exception as exc:
        if _code(exc) in GONE_CODES:
            raise InvalidEvent(
                f"ECR image {repository}:{tag} no longer exists ({_code(exc)}): deleted or retagged since the event"
            ) from None
        mapped = aws_error(exc, action)
        if mapped is not None:
            raise mapped from exc
        raise
    details = response.get("imageDetails") or []
    digests = {d.get("imageDigest") for d in details if isinstance(d, dict)}
    digests.discard(None)
    if len(digests) != 1:
        raise TransientError(f"{action}: expected one image for the tag, got {len(digests)}")
    digest = str(digests.pop())
    try:
        return validate_digest(digest)
    except InvalidReference:
        raise InvalidEvent(f"{action} returned a digest qscan does not accept") from None


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
