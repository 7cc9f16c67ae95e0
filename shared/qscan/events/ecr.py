"""ECR pushes: the native `ECR Image Action` event and the CloudTrail `PutImage` call.

Decisions:
- Only `action-type PUSH` with `result SUCCESS` is scanned; DELETE actions and failed pushes raise
  `UnsupportedEvent` (skipped and counted; the EventBridge rule filters them anyway).
- Multi-arch pushes emit one event per manifest (docs/ecr.md): the platform manifests and the build
  attestation manifests (pushed untagged), then the image index (tagged). Each platform manifest is its own
  target, deduplicated by digest, so every platform is scanned exactly once. The image index is skipped as
  `UnsupportedEvent` (`manifest-media-type` an index type; for CloudTrail `imageManifestMediaType`): scanning
  it would scan the one platform qscanner picks a second time under another digest. Artifacts the event marks
  as non-images (signatures, SBOMs: an `artifact-media-type` that is not an image config) are skipped too.
  Build attestations carry the ordinary image config type in the event: the ECR handler tells them apart by
  their manifest (`qscan.aws.ecr.require_image`), which the event does not carry.
- The registry host is built from the event's account and region; when either is unknown (moto drops
  `account`), `registry` and `image` stay None: nothing is guessed.
"""

from __future__ import annotations

from typing import Any

from qscan.errors import InvalidReference
from qscan.events._util import (
    ECR_DETAIL_TYPE,
    ECR_SOURCE,
    check_account,
    cloudtrail_call,
    envelope,
    image_target,
    obj,
    one_line,
    opt_obj,
    opt_str,
    req_str,
    show,
    unsupported,
)
from qscan.oci import IMAGE_CONFIG_TYPES, INDEX_REASON, INDEX_TYPES
from qscan.refs import ecr_registry_host, validate_digest, validate_repository, validate_tag
from qscan.target import ScanTarget

SOURCE = ECR_SOURCE
DETAIL_TYPE = ECR_DETAIL_TYPE
CLOUDTRAIL_SOURCE = "ecr.amazonaws.com"


def normalize_ecr_push(event: Any) -> list[ScanTarget]:
    """The native EventBridge `ECR Image Action` event (`source aws.ecr`)."""
    env = envelope(event)
    if env.source != SOURCE or env.detail_type != DETAIL_TYPE:
        raise unsupported(f"not an ECR Image Action event (detail-type {show(env.detail_type)})")
    detail = env.detail
    action = opt_str(detail, "action-type", "detail.action-type")
    if action != "PUSH":
        raise unsupported(f"ECR action {show(action)} is not a push: nothing to scan")
    result = opt_str(detail, "result", "detail.result")
    if result != "SUCCESS":
        raise unsupported(f"ECR push did not succeed (result {show(result)})")
    manifest_type = opt_str(detail, "manifest-media-type", "detail.manifest-media-type")
    artifact_type = opt_str(detail, "artifact-media-type", "detail.artifact-media-type")
    if manifest_type in INDEX_TYPES:
        raise unsupported(f"ECR {INDEX_REASON}")
    if artifact_type is not None and artifact_type not in IMAGE_CONFIG_TYPES:
        raise unsupported(f"ECR push of a non-image artifact ({show(artifact_type)})")
    return [
        _target(
            repository=req_str(detail, "repository-name", "detail.repository-name"),
            digest=req_str(detail, "image-digest", "detail.image-digest"),
            tag=opt_str(detail, "image-tag", "detail.image-tag"),
            account=env.account,
            region=env.region,
            event_id=env.event_id,
        )
    ]


def normalize_ecr_cloudtrail(event: Any) -> list[ScanTarget]:
    """The CloudTrail `PutImage` call (`detail.eventSource ecr.amazonaws.com`); failed calls are skipped."""
    call = cloudtrail_call(event, CLOUDTRAIL_SOURCE, frozenset({"PutImage"}))
    response = call.response or {}
    image = opt_obj(response, "image", "responseElements.image")
    if image is not None:
        image_id = obj(image.get("imageId"), "responseElements.image.imageId")
        repository = req_str(image, "repositoryName", "responseElements.image.repositoryName")
        registry_id = opt_str(image, "registryId", "responseElements.image.registryId")
        digest = opt_str(image_id, "imageDigest", "responseElements.image.imageId.imageDigest")
        tag = opt_str(image_id, "imageTag", "responseElements.image.imageId.imageTag")
        media_type = opt_str(image, "imageManifestMediaType", "responseElements.image.imageManifestMediaType")
    else:  # a response the trail did not record: fall back on what was asked for
        request = call.request
        repository = req_str(request, "repositoryName", "requestParameters.repositoryName")
        registry_id = opt_str(request, "registryId", "requestParameters.registryId")
        digest = opt_str(request, "imageDigest", "requestParameters.imageDigest")
        tag = opt_str(request, "imageTag", "requestParameters.imageTag")
        media_type = opt_str(request, "imageManifestMediaType", "requestParameters.imageManifestMediaType")
    if media_type in INDEX_TYPES:
        raise unsupported(f"ECR {INDEX_REASON}")
    if digest is None and tag is None:
        raise unsupported("PutImage call carries neither digest nor tag")
    account = check_account(registry_id, "registryId") or call.account
    return [
        _target(
            repository=repository,
            digest=digest,
            tag=tag,
            account=account,
            region=call.region,
            event_id=call.event_id,
        )
    ]


def _target(
    *,
    repository: str,
    digest: str | None,
    tag: str | None,
    account: str | None,
    region: str | None,
    event_id: str | None,
) -> ScanTarget:
    if account is not None and region is not None:
        reference = ecr_registry_host(account, region) + "/" + repository
        reference += f":{tag}" if tag is not None else ""
        reference += f"@{digest}" if digest is not None else ""
        return image_target(
            reference, "ecr", what="ECR image", account=account, region=region, event_id=event_id
        )
    try:  # no registry host: validate the parts on their own
        validate_repository(repository)
        if tag is not None:
            validate_tag(tag)
        if digest is not None:
            validate_digest(digest)
    except InvalidReference as exc:
        raise InvalidReference(one_line(f"ECR image: {exc.reason}")) from None
    return ScanTarget(
        kind="image",
        platform="ecr",
        repository=repository,
        tag=tag,
        digest=digest,
        account=account,
        region=region,
        event_id=event_id,
        lookup=None if digest else "image_digest",
    )
