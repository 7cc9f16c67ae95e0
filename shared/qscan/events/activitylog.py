"""Azure Activity Log records streamed to Event Hub: a message body `{"records": [...]}`.

An Activity Log stream carries every administrative operation of the subscription, so most records are not
ours: they are skipped quietly. A record is a target when its `operationName` (a string, or `{"value": ...}`
in the REST shape) is a supported container write and its outcome (`resultType`, or `status.value`/`status`)
is `Success`/`Succeeded`: the `Start` and `Accept` records of the same operation are skipped, as are failures.
`resourceId` is often upper-case: it is normalized as `qscan.events.arm` documents. `event_id` is the
record's `eventDataId` when present, else its `correlationId` (shared by the Start and Success records of one
operation, of which only Success is a target).
"""

from __future__ import annotations

from typing import Any

from qscan.events._util import (
    check_event_id,
    fail,
    json_type,
    obj,
    opt_list,
    opt_str,
    show,
    unsupported,
)
from qscan.events.arm import parse_resource_id, write_operation_type
from qscan.events.batch import BatchItem, combine, record_id, run
from qscan.target import ScanTarget

SUCCESS_RESULTS = frozenset({"success", "succeeded"})
MAX_RECORDS = 10_000


def activity_log_records(body: Any) -> list[Any]:
    """The records of an Event Hub body (`{"records": [...]}`)."""
    data = obj(body, "Activity Log body")
    records = opt_list(data, "records", "Activity Log records")
    if records is None:
        fail("Activity Log body has no records array")
    if not records:
        raise unsupported("empty Activity Log body")
    if len(records) > MAX_RECORDS:
        fail(f"Activity Log body has more than {MAX_RECORDS} records")
    return records


def normalize_activity_log(body: Any) -> list[ScanTarget]:
    """All targets of a body, strictly (`qscan.events.batch.combine`): unrelated records are skipped, a
    malformed record of ours fails the body; handlers use `qscan.events.normalize_batch` instead."""
    return combine(activity_log_items(body), "Activity Log")


def activity_log_items(body: Any) -> list[BatchItem]:
    """One outcome per record of a body (raises only when the body itself is malformed)."""
    records = activity_log_records(body)
    return [
        run(i, record_id(r, "eventDataId", "correlationId"), normalize_activity_record, r)
        for i, r in enumerate(records)
    ]


def normalize_activity_record(record: Any) -> list[ScanTarget]:
    data = obj(record, "Activity Log record")
    operation_type = write_operation_type(_value(data, "operationName"))
    category = _value(data, "category")
    if category is not None and category.lower() != "administrative":
        raise unsupported(f"Activity Log category {show(category)} is not Administrative")
    result = opt_str(data, "resultType", "resultType") if "resultType" in data else _value(data, "status")
    if result is None or result.lower() not in SUCCESS_RESULTS:
        raise unsupported(f"Activity Log record is not a success (result {show(result)})")
    resource = parse_resource_id(_resource_id(data), "Activity Log resourceId", operation_type)
    event_id = opt_str(data, "eventDataId", "eventDataId") or opt_str(data, "correlationId", "correlationId")
    return [
        ScanTarget(
            kind="image",
            platform=resource.platform,
            account=resource.subscription_id,
            resource_id=resource.resource_id,
            event_id=check_event_id(event_id, "Activity Log record id"),
            lookup="azure_resource",
        )
    ]


def _value(data: dict[str, Any], key: str) -> str | None:
    """A field that is either a string or a localizable `{"value": ..., "localizedValue": ...}` object."""
    value = data.get(key)
    if isinstance(value, dict):
        return opt_str(value, "value", f"{key}.value")
    if value is None or isinstance(value, str):
        return opt_str(data, key, key)
    fail(f"{key} must be a string or an object with a value, not {json_type(value)}")


def _resource_id(data: dict[str, Any]) -> str:
    value = opt_str(data, "resourceId", "resourceId")
    if value is None:
        fail("Activity Log record has no resourceId")
    return value
