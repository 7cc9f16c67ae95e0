"""The reconciler's synthetic scan requests: strict validation, round trip."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from qscan.errors import InvalidEvent, InvalidReference, UnsupportedEvent
from qscan.events import detect, normalize, normalize_reconciler, scan_request_event
from qscan.target import ScanTarget

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"
DIGEST = "sha256:" + "ab" * 32


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_image_request_is_normalized_and_filled_from_the_image() -> None:
    event = load("reconciler_image.json")
    assert detect(event) == "reconciler"
    [target] = normalize(event)
    assert target.registry == "111122223333.dkr.ecr.us-east-1.amazonaws.com"
    assert target.repository == "payments/ledger" and target.digest is not None
    assert target.dedupe_key == f"image#{target.digest}"
    assert target.event_id == event["id"]  # the envelope id when the target has none


def test_function_request() -> None:
    [target] = normalize(load("reconciler_function.json"))
    assert (
        target.kind == "function"
        and target.dedupe_key is not None
        and target.dedupe_key.startswith("lambda#")
    )


@pytest.mark.parametrize(
    "target",
    [
        ScanTarget(
            kind="image",
            platform="ecr",
            image=f"ghcr.io/a/b@{DIGEST}",
            registry="ghcr.io",
            repository="a/b",
            digest=DIGEST,
            account="111122223333",
            region="eu-west-1",
            event_id="e-1",
        ),
        ScanTarget(
            kind="image", platform="ecs", resource_id="checkout-service:27", lookup="ecs_task_definition"
        ),
        ScanTarget(
            kind="image",
            platform="aca",
            account="8f2c6a1e-3b5d-4e7f-9a0c-2d4e6f8a0b1c",
            region="westeurope",
            resource_id="/subscriptions/8f2c6a1e-3b5d-4e7f-9a0c-2d4e6f8a0b1c/resourceGroups/rg/providers/"
            "Microsoft.App/containerApps/app",
            lookup="azure_resource",
        ),
        ScanTarget(
            kind="function",
            platform="lambda",
            function_arn="arn:aws:lambda:us-east-1:111122223333:function:f",
            lookup="lambda_function",
        ),
    ],
)
def test_scan_request_round_trips(target: ScanTarget) -> None:
    event = json.loads(json.dumps(scan_request_event(target, event_id="qscan-1", reason="ecs-running-task")))
    [back] = normalize(event)
    expected = (
        target if target.event_id else ScanTarget.from_dict({**target.to_dict(), "event_id": "qscan-1"})
    )
    assert back == expected


def _image_event() -> dict[str, Any]:
    return load("reconciler_image.json")


@pytest.mark.parametrize(
    ("mutate", "error", "reason"),
    [
        (lambda e: e["detail"].update({"extra": 1}), InvalidEvent, "unknown key"),
        (lambda e: e["detail"]["target"].update({"color": "red"}), InvalidEvent, "unknown ScanTarget field"),
        (lambda e: e["detail"].pop("target"), InvalidEvent, "detail.target must be an object"),
        (lambda e: e["detail"].update({"reason": "Because!"}), InvalidEvent, "detail.reason"),
        (lambda e: e.pop("id"), InvalidEvent, "no id"),
        (lambda e: e["detail"]["target"].update({"kind": "vm"}), InvalidEvent, "kind"),
        (lambda e: e["detail"]["target"].update({"image": "ledger;id"}), InvalidReference, "metacharacter"),
        (
            lambda e: e["detail"]["target"].update({"repository": "other"}),
            InvalidEvent,
            "does not match target.image",
        ),
        (
            lambda e: e["detail"]["target"].update({"dedupe_key": "image#sha256:" + "0" * 64}),
            InvalidEvent,
            "dedupe_key does not match",
        ),
        (lambda e: e["detail"]["target"].update({"account": "acct"}), InvalidEvent, "target.account"),
        (lambda e: e["detail"]["target"].update({"region": "US East"}), InvalidEvent, "target.region"),
        (
            lambda e: e["detail"]["target"].update({"image": None, "digest": None, "repository": "a"}),
            InvalidEvent,
            "needs a lookup",
        ),
        (
            lambda e: e["detail"]["target"].update({"image": None, "digest": "sha256:1"}),
            InvalidReference,
            "digest",
        ),
        (lambda e: e["detail"]["target"].update({"layers": ["x"]}), InvalidEvent, "layers"),
        (lambda e: e["detail"]["target"].update({"event_id": "has space"}), InvalidEvent, "event_id"),
        (lambda e: e["detail"]["target"].update({"image": 5}), InvalidEvent, "string or null"),
        (lambda e: e["detail"].update({"target": {1: "x"}}), InvalidEvent, "target"),
    ],
)
def test_strict_validation(mutate: Any, error: type[Exception], reason: str) -> None:
    event = _image_event()
    mutate(event)
    with pytest.raises(error, match=reason):
        normalize_reconciler(event)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda t: t.update({"function_arn": "arn:aws:lambda:x"}), "function ARN"),
        (lambda t: t.update({"code_sha256": "nope"}), "code_sha256"),
        (lambda t: t.update({"package_type": "Image"}), "cannot have package_type Image"),
        (lambda t: t.update({"code_sha256": None}), "needs function_arn and code_sha256"),
    ],
)
def test_strict_function_validation(mutate: Any, reason: str) -> None:
    event = load("reconciler_function.json")
    mutate(event["detail"]["target"])
    with pytest.raises(InvalidEvent, match=reason):
        normalize_reconciler(event)


def test_other_detail_type_from_reconciler_source_is_unsupported() -> None:
    event = copy.deepcopy(_image_event())
    event["detail-type"] = "qscan Heartbeat"
    with pytest.raises(UnsupportedEvent):
        normalize(event)
