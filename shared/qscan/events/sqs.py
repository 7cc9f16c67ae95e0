"""SQS records whose body is an EventBridge event (an EventBridge rule targeting a queue).

A record is `{"messageId": ..., "body": "<JSON text>", "eventSource": "aws:sqs", ...}`. The body must be one
EventBridge event (ECR push, CloudTrail call, reconciler scan request); a body that is not JSON, or that is
itself an SQS record or batch, is rejected (no recursion).
"""

from __future__ import annotations

import json
from typing import Any

from qscan.events._util import check_event_id, fail, json_type, obj, opt_str, show, unsupported

SQS_EVENT_SOURCE = "aws:sqs"
MAX_BODY = 1024 * 1024  # the SQS message size limit
MAX_RECORDS = 10_000


def is_sqs_record(event: object) -> bool:
    return isinstance(event, dict) and (
        event.get("eventSource") == SQS_EVENT_SOURCE or ("messageId" in event and "body" in event)
    )


def is_sqs_batch(event: object) -> bool:
    return isinstance(event, dict) and "Records" in event


def sqs_records(event: Any) -> list[Any]:
    data = obj(event, "SQS batch")
    records = data.get("Records")
    if not isinstance(records, list):
        fail(f"SQS batch Records must be an array, not {json_type(records)}")
    if not records:
        raise unsupported("empty SQS batch")
    if len(records) > MAX_RECORDS:
        fail(f"SQS batch has more than {MAX_RECORDS} records")
    return records


def sqs_body(record: Any) -> tuple[str, Any]:
    """The message id and the decoded body of one SQS record."""
    data = obj(record, "SQS record")
    source = opt_str(data, "eventSource", "SQS record eventSource")
    if source is not None and source != SQS_EVENT_SOURCE:
        raise unsupported(f"record from {show(source)} is not an SQS message")
    message_id = check_event_id(opt_str(data, "messageId", "SQS messageId"), "SQS messageId")
    if message_id is None:
        fail("SQS record has no messageId")
    body = data.get("body")
    if not isinstance(body, str):
        fail(f"SQS record body must be a string, not {json_type(body)}")
    if len(body) > MAX_BODY:
        fail(f"SQS record body is larger than {MAX_BODY} characters")
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        fail("SQS record body is not valid JSON")
    if not isinstance(decoded, dict):
        fail(f"SQS record body must be a JSON object, not {json_type(decoded)}")
    return message_id, decoded
