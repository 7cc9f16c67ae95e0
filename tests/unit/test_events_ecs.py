"""ECS CloudTrail calls: task definitions carry images; tasks and services need a lookup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from qscan.errors import InvalidEvent, InvalidReference, UnsupportedEvent
from qscan.events import detect, normalize, normalize_ecs_cloudtrail

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"
TD27 = "arn:aws:ecs:eu-west-1:444455556666:task-definition/checkout-service:27"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_register_task_definition_gives_one_target_per_image() -> None:
    event = load("ecs_register_task_definition.json")
    assert detect(event) == "ecs_cloudtrail"
    targets = normalize(event)
    assert [t.image for t in targets] == [
        event["detail"]["responseElements"]["taskDefinition"]["containerDefinitions"][0]["image"],
        "444455556666.dkr.ecr.eu-west-1.amazonaws.com/shop/envoy-proxy:v1.29.2",
        "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0",
        "docker.io/fluent/fluent-bit:3.0.7",
    ]
    pinned, *tagged = targets
    assert pinned.lookup is None and pinned.dedupe_key == f"image#{pinned.digest}"
    assert all(t.lookup == "image_digest" and t.dedupe_key is None for t in tagged)
    assert {t.resource_id for t in targets} == {TD27}
    assert {(t.platform, t.account, t.region, t.event_id) for t in targets} == {
        ("ecs", "444455556666", "eu-west-1", event["id"])
    }


def test_duplicate_images_in_one_task_definition_give_one_target() -> None:
    event = load("ecs_register_task_definition.json")
    defs = event["detail"]["responseElements"]["taskDefinition"]["containerDefinitions"]
    defs.append({**defs[3], "name": "second-router", "image": "docker.io/fluent/fluent-bit:3.0.7"})
    assert len(normalize(event)) == 4


def test_register_without_response_uses_request_and_family() -> None:
    event = load("ecs_register_task_definition.json")
    event["detail"]["responseElements"] = None
    targets = normalize(event)
    assert len(targets) == 4 and {t.resource_id for t in targets} == {"checkout-service"}


def test_register_without_containers_falls_back_to_a_lookup() -> None:
    event = load("ecs_register_task_definition.json")
    del event["detail"]["responseElements"]["taskDefinition"]["containerDefinitions"]
    del event["detail"]["requestParameters"]["containerDefinitions"]
    [target] = normalize(event)
    assert target.lookup == "ecs_task_definition" and target.resource_id == TD27


def test_invalid_image_in_task_definition_is_invalid_event() -> None:
    with pytest.raises(InvalidReference) as caught:
        normalize(load("ecs_register_task_definition_invalid_image.json"))
    assert "containerDefinitions[0].image" in caught.value.reason
    assert "metacharacter" in caught.value.reason
    assert "curl" not in caught.value.reason  # the reference itself is never echoed


@pytest.mark.parametrize(
    ("name", "resource_id"),
    [
        ("ecs_run_task.json", TD27),  # the resolved ARN in the response wins over the bare family
        ("ecs_create_service.json", TD27),
        ("ecs_update_service.json", TD27.replace(":27", ":28")),
    ],
)
def test_tasks_and_services_need_task_definition_lookup(name: str, resource_id: str) -> None:
    event = load(name)
    [target] = normalize(event)
    assert target.kind == "image" and target.platform == "ecs"
    assert target.lookup == "ecs_task_definition" and target.resource_id == resource_id
    assert target.dedupe_key is None and target.image is None
    assert target.event_id == event["id"]


def test_run_task_without_response_uses_the_requested_family() -> None:
    event = load("ecs_run_task.json")
    event["detail"]["responseElements"] = None
    [target] = normalize(event)
    assert target.resource_id == "checkout-service"


@pytest.mark.parametrize(
    ("name", "mutate", "error", "reason"),
    [
        (
            "ecs_run_task.json",
            lambda d: d.update({"errorCode": "InvalidParameterException"}),
            UnsupportedEvent,
            "failed",
        ),
        (
            "ecs_run_task.json",
            lambda d: d.update({"eventName": "StopTask"}),
            UnsupportedEvent,
            "does not deploy",
        ),
        (
            "ecs_run_task.json",
            lambda d: d.update({"responseElements": None, "requestParameters": {}}),
            InvalidEvent,
            "names no task definition",
        ),
        (
            "ecs_run_task.json",
            lambda d: d["responseElements"]["tasks"][0].update({"taskDefinitionArn": "arn:aws:x"}),
            InvalidEvent,
            "ARN is malformed",
        ),
        (
            "ecs_create_service.json",
            lambda d: d["responseElements"]["service"].update({"taskDefinition": "a b"}),
            InvalidEvent,
            "neither an ARN",
        ),
        (
            "ecs_update_service.json",
            lambda d: d.update({"responseElements": None, "requestParameters": {}}),
            InvalidEvent,
            "names no task definition",
        ),
        (
            "ecs_register_task_definition.json",
            lambda d: d["responseElements"]["taskDefinition"].update({"containerDefinitions": []}),
            InvalidEvent,
            "is empty",
        ),
        (
            "ecs_register_task_definition.json",
            lambda d: d["responseElements"]["taskDefinition"].update(
                {"containerDefinitions": [{"name": "x"}]}
            ),
            InvalidEvent,
            "image is missing",
        ),
        (
            "ecs_register_task_definition.json",
            lambda d: d["responseElements"]["taskDefinition"].update({"containerDefinitions": ["nginx"]}),
            InvalidEvent,
            "must be an object",
        ),
    ],
)
def test_negative(name: str, mutate: Any, error: type[Exception], reason: str) -> None:
    event = load(name)
    mutate(event["detail"])
    with pytest.raises(error, match=reason):
        normalize_ecs_cloudtrail(event)
