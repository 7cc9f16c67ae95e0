"""Source auto-detection and the error contract of `normalize`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from qscan.errors import InvalidEvent, UnsupportedEvent
from qscan.events import NORMALIZERS, detect, normalize, normalize_batch

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"

EXPECTED_SOURCE = {
    "azure_activitylog_eventhub_batch.json": "activity_log",
    "azure_cloudevents_aca_job_write.json": "eventgrid",
    "azure_eventgrid_aca_app_write_array.json": "eventgrid",
    "azure_eventgrid_aci_write.json": "eventgrid",
    "azure_eventgrid_write_failure.json": "eventgrid",
    "ecr_cloudtrail_put_image.json": "ecr_cloudtrail",
    "ecr_cloudtrail_put_image_error.json": "ecr_cloudtrail",
    "ecr_delete.json": "ecr_push",
    "ecr_push.json": "ecr_push",
    "ecr_push_attestation_manifest.json": "ecr_push",
    "ecr_push_failed.json": "ecr_push",
    "ecr_push_image_index.json": "ecr_push",
    "ecr_push_signature_artifact.json": "ecr_push",
    "ecr_push_untagged_manifest.json": "ecr_push",
    "ecs_create_service.json": "ecs_cloudtrail",
    "ecs_register_task_definition.json": "ecs_cloudtrail",
    "ecs_register_task_definition_invalid_image.json": "ecs_cloudtrail",
    "ecs_run_task.json": "ecs_cloudtrail",
    "ecs_update_service.json": "ecs_cloudtrail",
    "lambda_create_function_image.json": "lambda_cloudtrail",
    "lambda_create_function_zip.json": "lambda_cloudtrail",
    "lambda_update_function_code_failed.json": "lambda_cloudtrail",
    "lambda_update_function_code_image_digest.json": "lambda_cloudtrail",
    "lambda_update_function_code_zip.json": "lambda_cloudtrail",
    "lambda_update_function_configuration_layers.json": "lambda_cloudtrail",
    "reconciler_function.json": "reconciler",
    "reconciler_image.json": "reconciler",
    "sqs_batch_ecr.json": "sqs_batch",
    "sqs_batch_partial_failure.json": "sqs_batch",
}
OUTCOME = {  # fixtures that do not normalize to targets
    "azure_eventgrid_write_failure.json": UnsupportedEvent,
    "ecr_cloudtrail_put_image_error.json": UnsupportedEvent,
    "ecr_delete.json": UnsupportedEvent,
    "ecr_push_failed.json": UnsupportedEvent,
    "ecr_push_image_index.json": UnsupportedEvent,
    "ecr_push_signature_artifact.json": UnsupportedEvent,
    "lambda_update_function_code_failed.json": UnsupportedEvent,
    "ecs_register_task_definition_invalid_image.json": InvalidEvent,
    "sqs_batch_partial_failure.json": InvalidEvent,
    "unsupported_s3_object_created.json": UnsupportedEvent,
}


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_every_fixture_is_listed() -> None:
    names = {p.name for p in FIXTURES.glob("*.json")}
    assert names == set(EXPECTED_SOURCE) | {"unsupported_s3_object_created.json"}
    assert set(EXPECTED_SOURCE.values()) | {"activity_log_record", "sqs_record"} == set(NORMALIZERS)


@pytest.mark.parametrize("name", sorted(EXPECTED_SOURCE))
def test_detects_fixture_source(name: str) -> None:
    assert detect(load(name)) == EXPECTED_SOURCE[name]


@pytest.mark.parametrize("name", sorted({*EXPECTED_SOURCE, "unsupported_s3_object_created.json"}))
def test_fixture_outcome(name: str) -> None:
    event = load(name)
    expected = OUTCOME.get(name)
    if expected is None:
        targets = normalize(event)
        assert targets and all(t.event_id for t in targets)
        # The JSON contract: every target survives a round trip through its dict form.
        assert all(type(t).from_dict(json.loads(json.dumps(t.to_dict()))) == t for t in targets)
    else:
        with pytest.raises(expected) as caught:
            normalize(event)
        assert caught.value.reason and "\n" not in caught.value.reason
    items = normalize_batch(event)
    assert items and all((i.error is None) == bool(i.targets) for i in items)


@pytest.mark.parametrize(
    ("event", "error", "reason"),
    [
        ("text", InvalidEvent, "JSON object or array, not string"),
        (None, InvalidEvent, "not null"),
        (42, InvalidEvent, "not number"),
        ({}, UnsupportedEvent, "unrecognized event shape"),
        (
            {"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification"},
            UnsupportedEvent,
            "aws.ec2",
        ),
        (
            {"detail-type": "AWS API Call via CloudTrail", "detail": {"eventSource": "s3.amazonaws.com"}},
            UnsupportedEvent,
            "s3.amazonaws.com",
        ),
        (
            {"detail-type": "AWS API Call via CloudTrail", "detail": "x"},
            InvalidEvent,
            "detail must be an object",
        ),
        ({"source": "aws.ecr", "detail-type": "ECR Image Action", "detail": None}, InvalidEvent, "detail"),
        ([], UnsupportedEvent, "empty"),
    ],
)
def test_detection_errors(event: Any, error: type[Exception], reason: str) -> None:
    with pytest.raises(error, match=reason):
        normalize(event)
    [item] = normalize_batch(event)
    assert isinstance(item.error, error)


def test_reasons_do_not_echo_secret_looking_values() -> None:
    event = load("ecr_push.json")
    event["detail"]["action-type"] = "password=hunter2"
    with pytest.raises(UnsupportedEvent) as caught:
        normalize(event)
    assert "hunter2" not in caught.value.reason
    event["detail"]["action-type"] = "x" * 10_000
    with pytest.raises(InvalidEvent) as caught2:
        normalize(event)
    assert len(caught2.value.reason) <= 240
