"""ECR native push events and CloudTrail PutImage calls."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from qscan.errors import InvalidEvent, InvalidReference, UnsupportedEvent
from qscan.events import detect, normalize, normalize_ecr_cloudtrail, normalize_ecr_push
from qscan.oci import INDEX_REASON

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"
REGISTRY = "111122223333.dkr.ecr.us-east-1.amazonaws.com"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_native_push_is_a_complete_image_target() -> None:
    event = load("ecr_push.json")
    assert detect(event) == "ecr_push"
    [target] = normalize(event)
    digest = event["detail"]["image-digest"]
    assert target.kind == "image" and target.platform == "ecr"
    assert target.registry == REGISTRY
    assert target.repository == "payments/orders-api"
    assert target.tag == "2.14.0"
    assert target.digest == digest
    assert target.image == f"{REGISTRY}/payments/orders-api:2.14.0@{digest}"
    assert target.dedupe_key == f"image#{digest}"
    assert target.lookup is None
    assert (target.account, target.region, target.event_id) == ("111122223333", "us-east-1", event["id"])


def test_untagged_platform_manifest_is_a_target_of_its_own_digest() -> None:
    event = load("ecr_push_untagged_manifest.json")
    [child] = normalize(event)
    assert child.tag is None and child.image is not None and "@sha256:" in child.image
    assert child.dedupe_key == f"image#{event['detail']['image-digest']}"


@pytest.mark.parametrize(
    "media_type",
    ["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"],
)
def test_image_index_push_is_skipped_its_platforms_arrive_as_their_own_pushes(media_type: str) -> None:
    event = load("ecr_push_image_index.json")
    event["detail"]["manifest-media-type"] = media_type
    with pytest.raises(UnsupportedEvent) as caught:
        normalize(event)
    assert caught.value.reason == f"ECR {INDEX_REASON}"
    assert "sha256" not in caught.value.reason  # one accounting key for every index


def test_attestation_manifest_looks_like_an_image_in_the_event() -> None:
    """ECR reports the image config type for buildx attestation manifests: only the manifest tells (handler)."""
    [target] = normalize(load("ecr_push_attestation_manifest.json"))
    assert target.tag is None and target.lookup is None


@pytest.mark.parametrize("where", ["responseElements", "requestParameters"])
def test_cloudtrail_put_image_of_an_index_is_skipped(where: str) -> None:
    event = load("ecr_cloudtrail_put_image.json")
    if where == "requestParameters":
        event["detail"]["responseElements"] = None
        event["detail"]["requestParameters"]["imageManifestMediaType"] = (
            "application/vnd.oci.image.index.v1+json"
        )
    else:
        event["detail"]["responseElements"]["image"]["imageManifestMediaType"] = (
            "application/vnd.docker.distribution.manifest.list.v2+json"
        )
    with pytest.raises(UnsupportedEvent, match="image index"):
        normalize(event)


def test_china_region_builds_the_cn_registry_host() -> None:
    event = load("ecr_push.json")
    event["region"] = "cn-north-1"
    [target] = normalize_ecr_push(event)
    assert target.registry == "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn"


def test_missing_account_leaves_registry_unknown_but_keeps_the_digest() -> None:
    event = load("ecr_push.json")
    del event["account"]  # what moto delivers
    [target] = normalize(event)
    assert target.registry is None and target.image is None and target.account is None
    assert target.repository == "payments/orders-api"
    assert target.dedupe_key == f"image#{event['detail']['image-digest']}"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("ecr_delete.json", "not a push"),
        ("ecr_push_failed.json", "did not succeed"),
        ("ecr_push_signature_artifact.json", "non-image artifact"),
    ],
)
def test_not_scanned_pushes_are_unsupported(name: str, reason: str) -> None:
    with pytest.raises(UnsupportedEvent) as caught:
        normalize(load(name))
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("mutate", "error", "reason"),
    [
        (
            lambda e: e["detail"].update({"image-digest": "sha256:XYZ"}),
            InvalidReference,
            "malformed image digest",
        ),
        (lambda e: e["detail"].pop("image-digest"), InvalidEvent, "image-digest is missing"),
        (lambda e: e["detail"].update({"repository-name": "Payments/API"}), InvalidReference, "lower-case"),
        (lambda e: e["detail"].update({"repository-name": "x;reboot"}), InvalidReference, "metacharacter"),
        (lambda e: e["detail"].update({"image-tag": "v1$(id)"}), InvalidReference, "metacharacter"),
        (lambda e: e["detail"].update({"image-tag": 7}), InvalidEvent, "must be a string"),
        (lambda e: e.update({"account": "12345"}), InvalidEvent, "12-digit"),
        (lambda e: e.update({"region": "Mars-1"}), InvalidEvent, "region"),
        (lambda e: e.update({"detail": []}), InvalidEvent, "detail must be an object"),
    ],
)
def test_malformed_push_is_invalid(mutate: Any, error: type[Exception], reason: str) -> None:
    event = load("ecr_push.json")
    mutate(event)
    with pytest.raises(error) as caught:
        normalize(event)
    assert reason in str(caught.value)


def test_no_registry_parts_still_validated() -> None:
    event = load("ecr_push.json")
    del event["region"]
    event["detail"]["repository-name"] = "UPPER"
    with pytest.raises(InvalidReference, match="lower-case"):
        normalize(event)


def test_cloudtrail_put_image() -> None:
    event = load("ecr_cloudtrail_put_image.json")
    assert detect(event) == "ecr_cloudtrail"
    [target] = normalize(event)
    digest = event["detail"]["responseElements"]["image"]["imageId"]["imageDigest"]
    assert target.image == f"{REGISTRY}/billing-worker:3.2.1@{digest}"
    assert target.dedupe_key == f"image#{digest}"
    assert target.event_id == event["id"]


def test_cloudtrail_put_image_cross_account_registry_wins() -> None:
    event = load("ecr_cloudtrail_put_image.json")
    event["detail"]["responseElements"]["image"]["registryId"] = "999988887777"
    [target] = normalize_ecr_cloudtrail(event)
    assert target.account == "999988887777"
    assert target.registry == "999988887777.dkr.ecr.us-east-1.amazonaws.com"


def test_cloudtrail_without_response_uses_request_and_needs_digest_lookup() -> None:
    event = load("ecr_cloudtrail_put_image.json")
    event["detail"]["responseElements"] = None
    [target] = normalize(event)
    assert target.digest is None and target.tag == "3.2.1"
    assert target.lookup == "image_digest" and target.dedupe_key is None


def test_cloudtrail_failed_and_other_calls_are_unsupported() -> None:
    with pytest.raises(UnsupportedEvent, match="failed"):
        normalize(load("ecr_cloudtrail_put_image_error.json"))
    event = load("ecr_cloudtrail_put_image.json")
    event["detail"]["eventName"] = "BatchDeleteImage"
    with pytest.raises(UnsupportedEvent, match="not scanned"):
        normalize(event)


def test_cloudtrail_malformed_image_id() -> None:
    event = load("ecr_cloudtrail_put_image.json")
    bad = copy.deepcopy(event)
    bad["detail"]["responseElements"]["image"]["imageId"] = "sha256:abc"
    with pytest.raises(InvalidEvent, match="imageId must be an object"):
        normalize(bad)
    bad = copy.deepcopy(event)
    bad["detail"]["responseElements"]["image"]["registryId"] = "not-an-account"
    with pytest.raises(InvalidEvent, match="registryId"):
        normalize(bad)
