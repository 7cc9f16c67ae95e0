"""Per-record outcomes of multi-record inputs (SQS batches, Event Hub bodies, Event Grid arrays)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from qscan.errors import InvalidEvent, QscanError, UnsupportedEvent
from qscan.events._util import EVENT_ID_RE, invalid, unsupported
from qscan.structs import struct
from qscan.target import ScanTarget


@struct
class BatchItem:
    """The outcome of one record: its targets, or the typed error that skips it.

    `record_id` is the record's own id when it has a well-formed one (SQS `messageId`, Event Grid `id`,
    Activity Log `eventDataId`/`correlationId`): what a handler reports in `batchItemFailures` or logs.
    """

    index: int
    record_id: str | None
    targets: tuple[ScanTarget, ...] = ()
    error: InvalidEvent | UnsupportedEvent | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def record_id(record: object, *keys: str) -> str | None:
    """A record's id for reporting; never raises (a malformed id is simply not reported)."""
    if not isinstance(record, dict):
        return None
    for key in keys:
        value = record.get(key)
        if isinstance(value, str) and re.fullmatch(EVENT_ID_RE, value):
            return value
    return None


def run(index: int, rid: str | None, normalizer: Callable[[Any], list[ScanTarget]], record: Any) -> BatchItem:
    try:
        return BatchItem(index=index, record_id=rid, targets=tuple(normalizer(record)))
    except (InvalidEvent, UnsupportedEvent) as exc:
        return BatchItem(index=index, record_id=rid, error=exc)
    except QscanError as exc:  # any other typed error from a helper: the record is malformed
        return BatchItem(index=index, record_id=rid, error=invalid(exc.reason))


def combine(items: Sequence[BatchItem], what: str) -> list[ScanTarget]:
    """Targets of all records, strictly: a malformed record fails the whole input; unsupported records are
    skipped; an input with no supported record is itself unsupported. A single record keeps its own error."""
    if len(items) == 1 and items[0].error is not None:
        raise items[0].error
    targets: list[ScanTarget] = []
    supported = 0
    for item in items:
        if isinstance(item.error, UnsupportedEvent):
            continue
        if item.error is not None:
            raise invalid(f"{what} record {item.index}: {item.error.reason}")
        supported += 1
        targets.extend(item.targets)
    if not supported:
        raise unsupported(f"no supported records among {len(items)} {what} records")
    return targets
