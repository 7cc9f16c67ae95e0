"""Platform events -> ScanTargets (DESIGN §3 step 1).

`normalize(event)` auto-detects the source and returns the event's targets, or raises a typed error:
`UnsupportedEvent` (not ours, or deliberately skipped: failed calls, deletes, dry runs, other resource types)
or `InvalidEvent` (ours, but malformed; `InvalidReference` for a bad image reference). Nothing else escapes.

Sources (`detect(event)` names them):

| name                  | shape                                                                      |
|-----------------------|----------------------------------------------------------------------------|
| `ecr_push`            | EventBridge `aws.ecr` / `ECR Image Action` (PUSH + SUCCESS only)            |
| `ecr_cloudtrail`      | CloudTrail `PutImage` (`ecr.amazonaws.com`)                                 |
| `lambda_cloudtrail`   | CloudTrail CreateFunction / UpdateFunctionCode / UpdateFunctionConfiguration|
| `ecs_cloudtrail`      | CloudTrail RegisterTaskDefinition / RunTask / CreateService / UpdateService |
| `reconciler`          | `qscan.reconciler` / `qscan Scan Request` (see `qscan.events.reconciler`)   |
| `eventgrid`           | Azure Event Grid `ResourceWriteSuccess` (Event Grid or CloudEvents schema; one event or an array) |
| `activity_log`        | Azure Activity Log Event Hub body `{"records": [...]}`                      |
| `activity_log_record` | one Activity Log record                                                     |
| `sqs_record`          | one SQS record whose body is an EventBridge event                           |
| `sqs_batch`           | a Lambda SQS batch `{"Records": [...]}`                                     |

Multi-record inputs (SQS batches, Event Hub bodies, Event Grid arrays): handlers use `normalize_batch`, which
returns one `BatchItem` per record and never raises, so one bad record never fails its neighbours (report it in
`batchItemFailures`, or count it as skipped). `normalize` also accepts them, strictly: a malformed record fails
the whole input, unsupported records are skipped, and an input without any supported record is unsupported.
`normalize_sqs_record(record)` normalizes one SQS record for handlers that iterate themselves.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from qscan.errors import InvalidEvent, QscanError, UnsupportedEvent
from qscan.events import sqs
from qscan.events._util import (
    CLOUDTRAIL_DETAIL_TYPE,
    ECR_DETAIL_TYPE,
    ECR_SOURCE,
    EVENTGRID_MAX_EVENTS,
    RECONCILER_SOURCE,
    invalid,
    is_activity_log_record,
    is_eventgrid_event,
    json_type,
    show,
    unsupported,
)
from qscan.events.batch import BatchItem, combine, record_id, run
from qscan.target import ScanTarget

if TYPE_CHECKING:
    from qscan.events.activitylog import normalize_activity_log, normalize_activity_record
    from qscan.events.aws_lambda import normalize_lambda_cloudtrail
    from qscan.events.ecr import normalize_ecr_cloudtrail, normalize_ecr_push
    from qscan.events.ecs import normalize_ecs_cloudtrail
    from qscan.events.eventgrid import normalize_eventgrid
    from qscan.events.reconciler import normalize_reconciler, scan_request_event

__all__ = [
    "NORMALIZERS",
    "BatchItem",
    "detect",
    "normalize",
    "normalize_activity_log",
    "normalize_activity_record",
    "normalize_batch",
    "normalize_ecr_cloudtrail",
    "normalize_ecr_push",
    "normalize_ecs_cloudtrail",
    "normalize_eventgrid",
    "normalize_lambda_cloudtrail",
    "normalize_reconciler",
    "normalize_sqs_batch",
    "normalize_sqs_record",
    "scan_request_event",
]

Normalizer = Callable[[Any], list[ScanTarget]]

# A source's normalizer module is imported on first use (an AWS handler never loads the Azure ones): these
# public names are module attributes loaded on first access (`__getattr__` below).
_LAZY: dict[str, str] = {
    "normalize_activity_log": "activitylog",
    "normalize_activity_record": "activitylog",
    "normalize_lambda_cloudtrail": "aws_lambda",
    "normalize_ecr_cloudtrail": "ecr",
    "normalize_ecr_push": "ecr",
    "normalize_ecs_cloudtrail": "ecs",
    "normalize_eventgrid": "eventgrid",
    "normalize_eventgrid_event": "eventgrid",
    "normalize_reconciler": "reconciler",
    "scan_request_event": "reconciler",
}
_SUBMODULES = frozenset({"activitylog", "arm", "aws_lambda", "ecr", "ecs", "eventgrid", "reconciler"})


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _lazy(name: str) -> Normalizer:
    """A normalizer that imports its module on its first call."""

    def normalizer(event: Any) -> list[ScanTarget]:
        function: Normalizer = __getattr__(name)
        return function(event)

    normalizer.__name__ = normalizer.__qualname__ = name
    normalizer.__doc__ = f"`{name}`, imported on first use."
    return normalizer


CLOUDTRAIL_SOURCES = {
    "ecr.amazonaws.com": "ecr_cloudtrail",
    "lambda.amazonaws.com": "lambda_cloudtrail",
    "ecs.amazonaws.com": "ecs_cloudtrail",
}
EVENTBRIDGE_SOURCES = frozenset(
    {"ecr_push", "ecr_cloudtrail", "lambda_cloudtrail", "ecs_cloudtrail", "reconciler"}
)


def detect(event: Any) -> str:
    """The source name of an event (see the module table), or UnsupportedEvent / InvalidEvent."""
    if isinstance(event, list):
        return "eventgrid"
    if not isinstance(event, dict):
        raise invalid(f"an event must be a JSON object or array, not {json_type(event)}")
    if sqs.is_sqs_batch(event):
        return "sqs_batch"
    if sqs.is_sqs_record(event):
        return "sqs_record"
    if "records" in event:
        return "activity_log"
    if is_activity_log_record(event):
        return "activity_log_record"
    if is_eventgrid_event(event):
        return "eventgrid"
    source = event.get("source")
    detail_type = event.get("detail-type")
    if source == RECONCILER_SOURCE:
        return "reconciler"
    if detail_type == ECR_DETAIL_TYPE and source == ECR_SOURCE:
        return "ecr_push"
    if detail_type == CLOUDTRAIL_DETAIL_TYPE:
        detail = event.get("detail")
        if not isinstance(detail, dict):
            raise invalid(f"CloudTrail event detail must be an object, not {json_type(detail)}")
        event_source = detail.get("eventSource")
        name = CLOUDTRAIL_SOURCES.get(event_source) if isinstance(event_source, str) else None
        if name is None:
            raise unsupported(f"CloudTrail events from {show(event_source)} are not scanned")
        return name
    if detail_type is not None or source is not None:
        raise unsupported(f"events from {show(source)} / {show(detail_type)} are not scanned")
    raise unsupported("unrecognized event shape")


def normalize(event: Any) -> list[ScanTarget]:
    """The targets of one event (any supported source, including multi-record inputs; see the module doc)."""
    source = detect(event)
    if source in ("sqs_batch", "activity_log") or isinstance(event, list):
        return combine(normalize_batch(event), _BATCH_NAMES[source])
    return _guard(NORMALIZERS[source], event)


def normalize_sqs_record(record: Any) -> list[ScanTarget]:
    """One SQS record whose body is an EventBridge event."""
    _, body = sqs.sqs_body(record)
    source = detect(body)
    if source not in EVENTBRIDGE_SOURCES:
        raise unsupported(f"SQS body is a {source} event, not an EventBridge event")
    return _guard(NORMALIZERS[source], body)


def normalize_sqs_batch(event: Any) -> list[ScanTarget]:
    return combine(normalize_batch(event), "SQS")


def normalize_batch(event: Any) -> list[BatchItem]:
    """One outcome per record; never raises. Single events give one item."""
    try:
        source = detect(event)
        if source == "sqs_batch":
            records = sqs.sqs_records(event)
            return [run(i, record_id(r, "messageId"), normalize_sqs_record, r) for i, r in enumerate(records)]
        if source == "activity_log":
            from qscan.events.activitylog import activity_log_items  # noqa: PLC0415 - Azure only

            return activity_log_items(event)
        if isinstance(event, list):
            if not event:
                raise unsupported("empty event array")
            if len(event) > EVENTGRID_MAX_EVENTS:
                raise invalid(f"event array has more than {EVENTGRID_MAX_EVENTS} events")
            event_normalizer = _lazy("normalize_eventgrid_event")
            return [run(i, record_id(e, "id"), event_normalizer, e) for i, e in enumerate(event)]
    except (InvalidEvent, UnsupportedEvent) as exc:
        return [BatchItem(index=0, record_id=None, error=exc)]
    rid = record_id(event, "messageId") if source == "sqs_record" else record_id(event, "id")
    return [run(0, rid, NORMALIZERS[source], event)]


def _guard(normalizer: Normalizer, event: Any) -> list[ScanTarget]:
    try:
        return normalizer(event)
    except (InvalidEvent, UnsupportedEvent):
        raise
    except QscanError as exc:
        raise invalid(exc.reason) from None


_BATCH_NAMES = {"sqs_batch": "SQS", "activity_log": "Activity Log", "eventgrid": "Event Grid"}

NORMALIZERS: dict[str, Normalizer] = {
    "ecr_push": _lazy("normalize_ecr_push"),
    "ecr_cloudtrail": _lazy("normalize_ecr_cloudtrail"),
    "lambda_cloudtrail": _lazy("normalize_lambda_cloudtrail"),
    "ecs_cloudtrail": _lazy("normalize_ecs_cloudtrail"),
    "reconciler": _lazy("normalize_reconciler"),
    "eventgrid": _lazy("normalize_eventgrid"),
    "activity_log": _lazy("normalize_activity_log"),
    "activity_log_record": _lazy("normalize_activity_record"),
    "sqs_record": normalize_sqs_record,
    "sqs_batch": normalize_sqs_batch,
}
