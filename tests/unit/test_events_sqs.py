"""EventBridge events in SQS records, whole SQS batches, and per-record outcomes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from qscan.errors import InvalidEvent, UnsupportedEvent
from qscan.events import detect, normalize, normalize_batch, normalize_sqs_record

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def record(body: Any, message_id: str = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9") -> dict[str, Any]:
    return {
        "messageId": message_id,
        "body": body if isinstance(body, str) else json.dumps(body),
        "eventSource": "aws:sqs",
        "attributes": {"ApproximateReceiveCount": "1"},
    }


def test_record_body_is_normalized_like_the_bare_event() -> None:
    push = load("ecr_push.json")
    assert detect(record(push)) == "sqs_record"
    assert normalize_sqs_record(record(push)) == normalize(push)
    assert normalize(record(push)) == normalize(push)


@pytest.mark.parametrize(
    "name",
    [
        "ecr_cloudtrail_put_image.json",
        "lambda_create_function_zip.json",
        "ecs_run_task.json",
        "reconciler_image.json",
    ],
)
def test_every_eventbridge_source_works_through_sqs(name: str) -> None:
    event = load(name)
    assert normalize_sqs_record(record(event)) == normalize(event)


def test_batch_gives_one_item_per_record() -> None:
    batch = load("sqs_batch_ecr.json")
    assert detect(batch) == "sqs_batch"
    items = normalize_batch(batch)
    assert [i.record_id for i in items] == [r["messageId"] for r in batch["Records"]]
    assert all(i.ok and len(i.targets) == 1 for i in items)
    assert [t.repository for t in normalize(batch)] == ["payments/orders-api", "billing-worker"]


def test_partial_failure_isolates_the_bad_record() -> None:
    batch = load("sqs_batch_partial_failure.json")
    items = normalize_batch(batch)
    assert [i.ok for i in items] == [True, False, True]
    assert isinstance(items[1].error, InvalidEvent) and "not valid JSON" in items[1].error.reason
    assert items[1].record_id == batch["Records"][1]["messageId"]  # what goes into batchItemFailures
    with pytest.raises(InvalidEvent, match="SQS record 1: SQS record body is not valid JSON"):
        normalize(batch)


def test_unsupported_record_is_skipped_in_strict_batch() -> None:
    batch = load("sqs_batch_ecr.json")
    batch["Records"].append(record(load("ecr_delete.json"), "6f7a8b9c-0d1e-4f2a-b3c4-d5e6f7a8b9c0"))
    assert len(normalize(batch)) == 2
    items = normalize_batch(batch)
    assert isinstance(items[2].error, UnsupportedEvent)


@pytest.mark.parametrize(
    ("rec", "error", "reason"),
    [
        (record("not json"), InvalidEvent, "not valid JSON"),
        (record("[1, 2]"), InvalidEvent, "must be a JSON object"),
        (record("[" * 100_000 + "]" * 100_000), InvalidEvent, "not valid JSON"),
        ({**record({}), "body": {"id": "x"}}, InvalidEvent, "body must be a string"),
        ({k: v for k, v in record({}).items() if k != "messageId"}, InvalidEvent, "no messageId"),
        ({**record({}), "eventSource": "aws:sns"}, UnsupportedEvent, "not an SQS message"),
        (record(record(load("ecr_push.json"))), UnsupportedEvent, "not an EventBridge event"),
        (record(load("azure_eventgrid_aci_write.json")), UnsupportedEvent, "not an EventBridge event"),
        (record(load("unsupported_s3_object_created.json")), UnsupportedEvent, "not scanned"),
        (record({"hello": "world"}), UnsupportedEvent, "unrecognized"),
        ({**record({}), "body": " " * (1024 * 1024 + 1)}, InvalidEvent, "larger than"),
    ],
)
def test_bad_records(rec: Any, error: type[Exception], reason: str) -> None:
    with pytest.raises(error, match=reason):
        normalize_sqs_record(rec)


def test_bad_batches() -> None:
    with pytest.raises(InvalidEvent, match="Records must be an array"):
        normalize({"Records": "x"})
    with pytest.raises(UnsupportedEvent, match="empty SQS batch"):
        normalize({"Records": []})
    [item] = normalize_batch({"Records": 5})
    assert isinstance(item.error, InvalidEvent) and item.index == 0
