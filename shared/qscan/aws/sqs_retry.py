"""How the SQS batch loop retries, defers and dead-letters records (DESIGN §3 Errors), on real SQS semantics.

The facts this relies on (SQS with a Lambda event source mapping and a redrive policy):

- every receive of a message increments its `ApproximateReceiveCount` (the record's `attributes`); once the
  count exceeds the queue's maxReceiveCount, the next receive moves the message to the dead-letter queue;
- a record the function reports in `batchItemFailures` stays in the queue and becomes visible again when its
  visibility timeout ends: the queue's (6x the function timeout, 90 min at defaults) unless
  `ChangeMessageVisibility` with the record's `receiptHandle` sets another one (0-43200 s, from the call);
- the records the function does not report are deleted by the event source mapping.

On top of these, `SqsRetry` gives every message its full number of scan attempts, in minutes:

**Attempts.** The attempt number of a record is its `qscan-prior-attempts` message attribute (set on a
deferred copy, see below; else 0) plus its receive count; a message has `max_receive_count` attempts
(QSCAN_MAX_RECEIVE_COUNT, which the module sets to the queue's maxReceiveCount).

**Backoff** (`back_off`). A record that failed and will be retried gets `ChangeMessageVisibility` to
`Backoff.after(attempt)` = min(base x 2^(attempt-1), max) seconds (QSCAN_RETRY_BACKOFF_BASE_SECONDS, default
60, and QSCAN_RETRY_BACKOFF_MAX_SECONDS, default 900): 1, 2, 4 ... minutes instead of 90. A failing call loses
nothing: the message keeps the queue's visibility timeout and comes back later (a warning says so).

**Free deferral** (`requeue`). A record the invocation has no time left to start (the loop's `reserve_ms`)
must not burn a receive, or records 2..n of a batch could reach the dead-letter queue never scanned. It is
sent again to its own queue as a copy (same body and message attributes, `qscan-prior-attempts` = the
attempts it already had) and the original is reported processed, so the event source mapping deletes it. If
the copy cannot be sent, the record is reported failed (redelivered, one receive spent: never lost).

**Dead-lettering** (`dead_letter`). A record whose last attempt failed, or whose failure is deterministic
(a retry cannot change it), is sent by the handler to the dead-letter queue (QSCAN_DEAD_LETTER_QUEUE_ARN)
with message attributes `qscan-failure` (`deterministic` | `exhausted`), `qscan-failure-reason`,
`qscan-attempts` and `qscan-source-message-id`, and the original is reported processed. The dead letter
carries no `qscan-prior-attempts`: redriven to the scan queue, it starts over with a full set of attempts. If
the send fails the record is reported failed and the queue's redrive policy dead-letters it (the backstop,
also for invocations that crash or time out).

Only standard queues are supported (the modules create standard queues). Nothing here raises: every SQS
call is best effort with the fallback described, and logged without secrets.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from qscan.attempts import Attempt
from qscan.cloud_errors import aws_error_code
from qscan.redact import redact, truncate
from qscan.structs import struct

LOG = logging.getLogger(__name__)

PRIOR_ATTEMPTS = "qscan-prior-attempts"
ATTEMPTS = "qscan-attempts"
FAILURE = "qscan-failure"
FAILURE_REASON = "qscan-failure-reason"
SOURCE_MESSAGE_ID = "qscan-source-message-id"
OWN_ATTRIBUTES = frozenset({PRIOR_ATTEMPTS, ATTEMPTS, FAILURE, FAILURE_REASON, SOURCE_MESSAGE_ID})

MAX_VISIBILITY_SECONDS = 43200  # SQS: 12 hours
MAX_RECEIVE_COUNT = 1000  # SQS redrive policy maximum
MAX_MESSAGE_ATTRIBUTES = 10  # SQS: per message
MAX_REASON_CHARS = 1000
_MAX_EXPONENT = 16  # 2**16 x 1 s already exceeds MAX_VISIBILITY_SECONDS

Failure = Literal["deterministic", "exhausted"]
ClientFor = Callable[[str], Any]  # region -> boto3 SQS client

# Regular expressions as pattern strings, compiled on first use (re's cache), not at import.
QUEUE_ARN_RE = (
    r"^arn:aws[a-z-]*:sqs:(?P<region>[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}):(?P<account>[0-9]{12}):"
    r"(?P<name>[A-Za-z0-9_-]{1,80}(?:\.fifo)?)$"
)


@struct
class Backoff:
    """Visibility after a failed attempt: min(base x 2^(attempt-1), max) seconds."""

    base_seconds: int = 60
    max_seconds: int = 900

    def __post_init__(self) -> None:
        if not 0 <= self.base_seconds <= self.max_seconds <= MAX_VISIBILITY_SECONDS:
            raise ValueError(f"backoff needs 0 <= base <= max <= {MAX_VISIBILITY_SECONDS} seconds")

    def after(self, attempt: int) -> int:
        """Seconds a message waits after its failed `attempt` (1-based)."""
        exponent = min(max(attempt, 1) - 1, _MAX_EXPONENT)
        return min(self.base_seconds * (1 << exponent), self.max_seconds)

    def horizon(self, attempts: int) -> int:
        """The waits of `attempts` failed attempts added up (the modules add the function runs)."""
        return sum(self.after(n) for n in range(1, attempts + 1))


@struct
class QueueRef:
    """An SQS queue named by its ARN (a record's `eventSourceARN`, the dead-letter queue setting)."""

    arn: str
    region: str
    account: str
    name: str

    @classmethod
    def parse(cls, arn: object) -> QueueRef | None:
        if not isinstance(arn, str):
            return None
        match = re.match(QUEUE_ARN_RE, arn)
        if match is None:
            return None
        return cls(arn, match["region"], match["account"], match["name"])

    def url(self, client: Any) -> str:
        """The queue URL on the client's endpoint (AWS, or QSCAN_AWS_ENDPOINT_URL for a local server)."""
        endpoint = str(client.meta.endpoint_url).rstrip("/")
        return f"{endpoint}/{self.account}/{self.name}"


def receive_count(record: Mapping[str, Any]) -> int:
    """The record's ApproximateReceiveCount (1 when missing or malformed: never fewer attempts than allowed)."""
    attributes = record.get("attributes")
    value = attributes.get("ApproximateReceiveCount") if isinstance(attributes, Mapping) else None
    try:
        count = int(str(value), 10)
    except ValueError:
        return 1
    return count if 1 <= count <= 1_000_000 else 1


def prior_attempts(record: Mapping[str, Any]) -> int:
    """Attempts a deferred copy had before it was sent again (its `qscan-prior-attempts`), else 0."""
    attributes = record.get("messageAttributes")
    value = attributes.get(PRIOR_ATTEMPTS) if isinstance(attributes, Mapping) else None
    if value is None:
        return 0
    text = value.get("stringValue") if isinstance(value, Mapping) else None
    try:
        prior = int(str(text), 10)
    except ValueError:
        prior = -1
    if not 0 <= prior <= MAX_RECEIVE_COUNT:
        LOG.warning("ignored a malformed %s message attribute", PRIOR_ATTEMPTS)
        return 0
    return prior


def copied_attributes(record: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The record's message attributes in SendMessage's shape (qscan's own left out, malformed ones dropped)."""
    attributes = record.get("messageAttributes")
    copied: dict[str, dict[str, Any]] = {}
    if not isinstance(attributes, Mapping):
        return copied
    for name, value in attributes.items():
        if name in OWN_ATTRIBUTES or not isinstance(value, Mapping):
            continue
        data_type = value.get("dataType")
        if not isinstance(data_type, str):
            continue
        string, binary = value.get("stringValue"), value.get("binaryValue")
        if data_type.startswith(("String", "Number")) and isinstance(string, str):
            copied[str(name)] = {"DataType": data_type, "StringValue": string}
        elif data_type.startswith("Binary") and isinstance(binary, str):
            try:
                copied[str(name)] = {
                    "DataType": data_type,
                    "BinaryValue": base64.b64decode(binary, validate=True),
                }
            except ValueError:
                continue
    return copied


def _string(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def _number(value: int) -> dict[str, str]:
    return {"DataType": "Number", "StringValue": str(value)}


class SqsRetry:
    """Attempts, backoff, free deferral and dead-lettering for the records of SQS batches (module doc)."""

    def __init__(
        self,
        client_for: ClientFor,
        *,
        backoff: Backoff | None = None,
        max_receive_count: int = 3,
        dead_letter_queue_arn: str | None = None,
    ) -> None:
        if not 1 <= max_receive_count <= MAX_RECEIVE_COUNT:
            raise ValueError(f"max_receive_count must be 1..{MAX_RECEIVE_COUNT}")
        self._client_for = client_for
        self.backoff = backoff or Backoff()
        self.max_receive_count = max_receive_count
        self.dead_letter_queue = QueueRef.parse(dead_letter_queue_arn) if dead_letter_queue_arn else None
        if dead_letter_queue_arn and self.dead_letter_queue is None:
            raise ValueError("dead_letter_queue_arn must be an SQS queue ARN")

    @property
    def can_dead_letter(self) -> bool:
        return self.dead_letter_queue is not None

    def attempt(self, record: Mapping[str, Any]) -> Attempt:
        """This record's attempt: prior attempts of a deferred copy plus its receive count."""
        number = prior_attempts(record) + receive_count(record)
        return Attempt(number, self.max_receive_count, fail_fast=self.can_dead_letter)

    # ------------------------------------------------------------------ the three actions
    def back_off(self, record: Mapping[str, Any], attempt: Attempt) -> int | None:
        """Make a failed record visible again after the backoff; returns the seconds, None when it failed."""
        seconds = self.backoff.after(attempt.number)
        queue = QueueRef.parse(record.get("eventSourceARN"))
        receipt = record.get("receiptHandle")
        if queue is None or not isinstance(receipt, str) or not receipt:
            LOG.warning("no retry backoff: the record has no SQS queue ARN or receipt handle")
            return None
        try:
            client = self._client_for(queue.region)
            client.change_message_visibility(
                QueueUrl=queue.url(client), ReceiptHandle=receipt, VisibilityTimeout=seconds
            )
        except Exception as exc:  # noqa: BLE001 - best effort: the queue's visibility timeout applies
            LOG.warning(
                "retry backoff failed (%s): the message comes back after the queue's visibility timeout",
                aws_error_code(exc) or type(exc).__name__,
            )
            return None
        LOG.info("retried in %d s (%s)", seconds, attempt.describe(), extra={"retry_in_seconds": seconds})
        return seconds

    def requeue(self, record: Mapping[str, Any], attempt: Attempt) -> bool:
        """Send a deferred record again as a copy that keeps its attempts; True when the copy was sent."""
        queue = QueueRef.parse(record.get("eventSourceARN"))
        if queue is None:
            LOG.warning("cannot defer for free: the record has no SQS queue ARN")
            return False
        done = attempt.number - 1  # this receive was not an attempt
        attributes = self._attributes(record, {PRIOR_ATTEMPTS: _number(done)})
        return self._send(queue, record, attributes, what="deferred copy")

    def dead_letter(self, record: Mapping[str, Any], attempt: Attempt, reason: str, failure: Failure) -> bool:
        """Move a finally failed record to the dead-letter queue with its reason; True when it was sent."""
        if self.dead_letter_queue is None:
            return False
        source = record.get("messageId")
        clean = redact(truncate(" ".join(reason.split()), MAX_REASON_CHARS)) or "no reason given"
        own = {
            FAILURE: _string(failure),
            FAILURE_REASON: _string(clean),
            ATTEMPTS: _number(attempt.number),
        }
        if isinstance(source, str) and source:
            own[SOURCE_MESSAGE_ID] = _string(source[:256])
        return self._send(self.dead_letter_queue, record, self._attributes(record, own), what="dead letter")

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _attributes(record: Mapping[str, Any], own: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        copied = copied_attributes(record)
        room = MAX_MESSAGE_ATTRIBUTES - len(own)
        if len(copied) > room:
            LOG.warning(
                "%d message attribute(s) not copied (SQS allows %d)",
                len(copied) - room,
                MAX_MESSAGE_ATTRIBUTES,
            )
        kept = dict(list(copied.items())[: max(room, 0)])
        return kept | own

    def _send(
        self, queue: QueueRef, record: Mapping[str, Any], attributes: dict[str, dict[str, Any]], *, what: str
    ) -> bool:
        body = record.get("body")
        if not isinstance(body, str) or not body:
            LOG.warning("cannot send a %s: the record has no body", what)
            return False
        try:
            client = self._client_for(queue.region)
            client.send_message(QueueUrl=queue.url(client), MessageBody=body, MessageAttributes=attributes)
        except Exception as exc:  # noqa: BLE001 - best effort: the caller falls back to a redelivery
            LOG.warning(
                "could not send the %s to %s (%s)",
                what,
                queue.name,
                aws_error_code(exc) or type(exc).__name__,
            )
            return False
        return True
