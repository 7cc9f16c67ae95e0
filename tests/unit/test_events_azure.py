"""Azure Event Grid (both schemas, single and array) and Activity Log Event Hub batches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from qscan.errors import InvalidEvent, UnsupportedEvent
from qscan.events import (
    detect,
    normalize,
    normalize_activity_log,
    normalize_activity_record,
    normalize_batch,
    normalize_eventgrid,
)
from qscan.events.arm import parse_resource_id

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"
SUB = "8f2c6a1e-3b5d-4e7f-9a0c-2d4e6f8a0b1c"
ACI = f"/subscriptions/{SUB}/resourceGroups/rg-shop-prod/providers/Microsoft.ContainerInstance/containerGroups/nightly-report"
ACA = f"/subscriptions/{SUB}/resourceGroups/rg-shop-prod/providers/Microsoft.App/containerApps/storefront"
JOB = f"/subscriptions/{SUB}/resourceGroups/rg-shop-batch/providers/Microsoft.App/jobs/invoice-export"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_eventgrid_aci_write() -> None:
    event = load("azure_eventgrid_aci_write.json")
    assert detect(event) == "eventgrid"
    [target] = normalize(event)
    assert (target.kind, target.platform, target.lookup) == ("image", "aci", "azure_resource")
    assert target.resource_id == ACI and target.account == SUB
    assert target.region is None and target.event_id == event["id"] and target.dedupe_key is None


def test_eventgrid_array_skips_other_resources() -> None:
    events = load("azure_eventgrid_aca_app_write_array.json")
    [target] = normalize(events)
    assert target.platform == "aca" and target.resource_id == ACA
    items = normalize_batch(events)
    assert [i.ok for i in items] == [True, False]
    assert isinstance(items[1].error, UnsupportedEvent) and items[1].record_id == events[1]["id"]


def test_eventgrid_array_with_malformed_event_fails_strictly_but_batch_isolates_it() -> None:
    events = load("azure_eventgrid_aca_app_write_array.json")
    events[1]["eventType"] = "Microsoft.Resources.ResourceWriteSuccess"
    events[1]["data"]["operationName"] = "Microsoft.App/containerApps/write"  # mismatches the storage account
    with pytest.raises(InvalidEvent, match="record 1"):
        normalize_eventgrid(events)
    items = normalize_batch(events)
    assert items[0].ok and isinstance(items[1].error, InvalidEvent)


def test_cloudevents_schema_aca_job() -> None:
    event = load("azure_cloudevents_aca_job_write.json")
    [target] = normalize(event)
    assert target.platform == "aca" and target.resource_id == JOB and target.event_id == event["id"]


def test_subject_is_used_when_resource_uri_is_absent() -> None:
    event = load("azure_eventgrid_aci_write.json")
    del event["data"]["resourceUri"]
    assert normalize(event)[0].resource_id == ACI


@pytest.mark.parametrize(
    ("mutate", "error", "reason"),
    [
        (
            lambda e: e.update({"eventType": "Microsoft.Resources.ResourceWriteFailure"}),
            UnsupportedEvent,
            "not Microsoft",
        ),
        (
            lambda e: e.update({"eventType": "Microsoft.EventGrid.SubscriptionValidationEvent"}),
            UnsupportedEvent,
            "not",
        ),
        (
            lambda e: e["data"].update(
                {"operationName": "Microsoft.ContainerInstance/containerGroups/delete"}
            ),
            UnsupportedEvent,
            "not a container deployment",
        ),
        (lambda e: e["data"].update({"status": "Failed"}), UnsupportedEvent, "did not succeed"),
        (
            lambda e: e["data"].update({"operationName": "Microsoft.App/jobs/write"}),
            InvalidEvent,
            "does not match",
        ),
        (
            lambda e: e["data"].update({"subscriptionId": "00000000-0000-0000-0000-000000000000"}),
            InvalidEvent,
            "subscriptionId does not match",
        ),
        (
            lambda e: e["data"].update(
                {
                    "resourceUri": "/subscriptions/not-a-guid/resourceGroups/rg/providers/"
                    "Microsoft.ContainerInstance/containerGroups/x"
                }
            ),
            InvalidEvent,
            "subscription id",
        ),
        (
            lambda e: e["data"].update({"resourceUri": ACI.replace("nightly-report", "bad_name!")}),
            InvalidEvent,
            "resource name",
        ),
        (
            lambda e: e["data"].update({"resourceUri": "nightly-report"}),
            InvalidEvent,
            "not an Azure resource id",
        ),
        (lambda e: e.update({"data": "x"}), InvalidEvent, "data must be an object"),
        (lambda e: e.update({"id": "bad id with spaces"}), InvalidEvent, "event id"),
    ],
)
def test_eventgrid_negative(mutate: Any, error: type[Exception], reason: str) -> None:
    event = load("azure_eventgrid_aci_write.json")
    mutate(event)
    with pytest.raises(error, match=reason):
        normalize(event)


def test_eventgrid_failure_fixture_is_unsupported() -> None:
    with pytest.raises(UnsupportedEvent):
        normalize(load("azure_eventgrid_write_failure.json"))


def test_cloudevents_bad_specversion() -> None:
    event = load("azure_cloudevents_aca_job_write.json")
    event["specversion"] = "0.3"
    with pytest.raises(InvalidEvent, match="specversion"):
        normalize(event)


def test_activity_log_batch_keeps_only_successful_container_writes() -> None:
    body = load("azure_activitylog_eventhub_batch.json")
    assert detect(body) == "activity_log"
    targets = normalize(body)
    assert [(t.platform, t.resource_id) for t in targets] == [
        (
            "aci",
            f"/subscriptions/{SUB}/resourceGroups/RG-SHOP-PROD/providers/"
            "Microsoft.ContainerInstance/containerGroups/nightly-report",
        ),
        ("aca", ACA),
    ]
    assert targets[0].event_id == body["records"][1]["correlationId"]
    assert targets[1].event_id == body["records"][3]["eventDataId"]  # REST shape: {value} fields
    assert all(t.account == SUB and t.lookup == "azure_resource" for t in targets)
    items = normalize_batch(body)
    assert [i.ok for i in items] == [False, True, False, True]
    assert all(isinstance(i.error, UnsupportedEvent) for i in items if not i.ok)


def test_activity_log_record_detected_alone() -> None:
    record = load("azure_activitylog_eventhub_batch.json")["records"][1]
    assert detect(record) == "activity_log_record"
    assert normalize(record)[0].platform == "aci"


@pytest.mark.parametrize(
    ("mutate", "error", "reason"),
    [
        (lambda r: r.update({"resultType": "Failure"}), UnsupportedEvent, "not a success"),
        (lambda r: r.update({"resultType": "Accept"}), UnsupportedEvent, "not a success"),
        (lambda r: r.update({"category": "Policy"}), UnsupportedEvent, "Administrative"),
        (lambda r: r.update({"operationName": {"value": 3}}), InvalidEvent, "operationName.value"),
        (lambda r: r.update({"operationName": ["x"]}), InvalidEvent, "operationName must be"),
        (lambda r: r.pop("resourceId"), InvalidEvent, "no resourceId"),
        (lambda r: r.update({"resourceId": "/SUBSCRIPTIONS/X"}), InvalidEvent, "resource id"),
        (
            lambda r: r.update({"operationName": "MICROSOFT.APP/CONTAINERAPPS/WRITE"}),
            InvalidEvent,
            "does not match",
        ),
    ],
)
def test_activity_record_negative(mutate: Any, error: type[Exception], reason: str) -> None:
    record = load("azure_activitylog_eventhub_batch.json")["records"][1]
    mutate(record)
    with pytest.raises(error, match=reason):
        normalize_activity_record(record)


def test_activity_log_body_without_our_records_is_unsupported_and_bad_body_invalid() -> None:
    body = load("azure_activitylog_eventhub_batch.json")
    body["records"] = [body["records"][0], body["records"][2]]
    with pytest.raises(UnsupportedEvent, match="no supported records among 2"):
        normalize_activity_log(body)
    with pytest.raises(InvalidEvent, match="records must be an array"):
        normalize({"records": {"a": 1}})


def test_empty_activity_log_body_is_one_unsupported_item() -> None:
    with pytest.raises(UnsupportedEvent, match="empty Activity Log body"):
        normalize({"records": []})
    (item,) = normalize_batch({"records": []})
    assert isinstance(item.error, UnsupportedEvent)


def test_activity_log_malformed_record_fails_strict_body_only() -> None:
    body = load("azure_activitylog_eventhub_batch.json")
    body["records"][1]["resourceId"] = "/SUBSCRIPTIONS/oops"
    with pytest.raises(InvalidEvent, match="Activity Log record 1"):
        normalize(body)
    items = normalize_batch(body)
    assert items[3].ok and isinstance(items[1].error, InvalidEvent)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (ACI.upper(), ACI.replace("rg-shop-prod", "RG-SHOP-PROD")),
        (ACI.lower(), ACI),
        (JOB.upper(), JOB.replace("rg-shop-batch", "RG-SHOP-BATCH")),
    ],
)
def test_resource_id_case_normalization(raw: str, expected: str) -> None:
    assert parse_resource_id(raw, "id").resource_id == expected


def test_resource_id_other_types_are_unsupported() -> None:
    with pytest.raises(UnsupportedEvent):
        parse_resource_id(f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app", "id")
    with pytest.raises(UnsupportedEvent):
        parse_resource_id(ACI + "/containers/main", "id")
