"""The SQS batch loop of a queue-fed Lambda handler: normalize, resolve, scan, report per record.

For every record of a Lambda SQS batch (bodies are EventBridge events), with the SQS `messageId` as the
correlation id of every log line and as the dedupe claim owner (stable across redeliveries, see
`qscan.pipeline`):

1. `normalize_sqs_record` -> targets. `UnsupportedEvent`: skipped quietly (info); `InvalidEvent`: skipped with a
   warning. Both are counted under their reason and never retried.
2. `resolve(target)` completes each target (lookups such as tag -> digest, cross-account credentials); it may
   raise the same permanent errors (that target is skipped) or any other error (the record fails).
3. `Pipeline.process(target, owner=messageId)`.

Anything else (`TransientError` incl. `ScanFailed`, `ConfigError`, an unexpected exception) fails the record:
its `messageId` goes into `batchItemFailures`, so SQS redelivers it and finally moves it to the dead-letter
queue (whose alarm fires). One record never fails its neighbours, and nothing is swallowed. Records after the
first that cannot start because less than `reserve_ms` is left in the invocation are reported as failures too
(redelivered, not lost; the first record always runs, so a tight timeout cannot defer a message forever).

Requests: a handler may pass `requests` (a `RequestHandler`) for message bodies that ask the handler to do
something instead of naming something to scan: the Lambda scanner's scheduled bulk-scan request, which fans out
into one scan request per function sent back to the same queue. A body it `matches` is handed to its `run`,
which returns how many scan requests it enqueued (each is an event of its own in a later batch) or raises to
fail the record (redelivered like any failed record, then dead-lettered).

Accounting (one `batch accounting` log line per invocation) is per record, each in exactly one bucket:
events = scanned + deduplicated + cached + skipped(reason) + failed + fanned_out, where `fanned_out` counts the
requests handled (`enqueued` adds up the scan requests they sent). A record with several targets takes the most
telling disposition: failed > scanned > cached > deduplicated > skipped.

Metrics (one EMF line per invocation, names in `qscan.metrics.DASHBOARD_METRICS`): `ScansStarted` (scanner
invocations), `ScansSucceeded` (complete scans), `ScansFailed` (targets whose processing failed: incomplete
scans and errors), `ScansDeduplicated` (targets not scanned because a claim or a cached result covers them),
`EventsSkipped` (records skipped), `Findings<Severity>` (findings of the scans completed in this invocation).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from qscan.errors import ConfigError, InvalidEvent, QscanError, TransientError, UnsupportedEvent
from qscan.events import normalize_sqs_record
from qscan.events.batch import record_id
from qscan.events.sqs import sqs_body
from qscan.log import correlation
from qscan.metrics import FINDING_METRICS, EmfMetrics
from qscan.pipeline import Accounting, Pipeline, ScanFailed
from qscan.results.model import ScanResult
from qscan.scanners import Scanner
from qscan.target import ScanTarget

LOG = logging.getLogger(__name__)

Resolver = Callable[[ScanTarget], ScanTarget]
RecordDisposition = Literal["failed", "fanned_out", "scanned", "cached", "deduplicated", "skipped"]
_PRIORITY: tuple[RecordDisposition, ...] = (
    "failed",
    "fanned_out",
    "scanned",
    "cached",
    "deduplicated",
    "skipped",
)


@dataclass(frozen=True, slots=True)
class RequestHandler:
    """Message bodies that are requests to the handler (see the module docstring), and how to run them."""

    name: str  # for log lines, e.g. "bulk-scan request"
    matches: Callable[[Mapping[str, Any]], bool]
    run: Callable[[Mapping[str, Any], Mapping[str, Any]], int]  # (body, SQS record) -> scan requests enqueued


@dataclass(slots=True)
class BatchAccounting(Accounting):
    """`Accounting` plus the requests a batch handled (`fanned_out`) and the scan requests they sent."""

    fanned_out: int = 0
    enqueued: int = 0

    def to_dict(self) -> dict[str, object]:
        data = Accounting.to_dict(self)
        data.update(fanned_out=self.fanned_out, enqueued=self.enqueued)
        return data


class CountingScanner:
    """Wraps a scanner to count how many scans actually started (the `ScansStarted` metric)."""

    def __init__(self, inner: Scanner) -> None:
        self.inner = inner
        self.name = inner.name
        self.started = 0

    def scan(self, target: ScanTarget) -> ScanResult:
        self.started += 1
        return self.inner.scan(target)


@dataclass(slots=True)
class _Record:
    dispositions: list[RecordDisposition]
    skip_reason: str | None = None

    def final(self) -> RecordDisposition:
        for disposition in _PRIORITY:
            if disposition in self.dispositions:
                return disposition
        return "skipped"


def skip_reason(exc: QscanError) -> str:
    kind = "unsupported" if isinstance(exc, UnsupportedEvent) else "invalid"
    return f"{kind}: {exc.reason}"


class SqsScanHandler:
    """Processes Lambda SQS batches; `handle` returns the partial batch response."""

    def __init__(
        self,
        pipeline: Callable[[], Pipeline],
        resolve: Resolver,
        metrics: EmfMetrics,
        *,
        scanner: CountingScanner | None = None,
        reserve_ms: int = 0,
        requests: RequestHandler | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._resolve = resolve
        self.metrics = metrics
        self._scanner = scanner
        self._requests = requests
        self.reserve_ms = reserve_ms  # do not start a record with less time than this left

    def handle(self, event: Any, context: Any = None) -> dict[str, list[dict[str, str]]]:
        """The partial batch response; batch-level lines carry the Lambda request id as correlation id."""
        request_id = getattr(context, "aws_request_id", None)
        with correlation(request_id if isinstance(request_id, str) else None):
            return self._handle(event, context)

    def _handle(self, event: Any, context: Any) -> dict[str, list[dict[str, str]]]:
        accounting = BatchAccounting()
        failures: list[dict[str, str]] = []
        started_before = self._scanner.started if self._scanner else 0
        records = event.get("Records") if isinstance(event, dict) else None
        if not isinstance(records, list):
            accounting.events = 1
            accounting.skip("invalid: not an SQS batch (no Records array)")
            self.metrics.add("EventsSkipped")
            LOG.warning("skipped: the event is not an SQS batch")
            records = []
        pipeline = self._pipeline() if records else None
        attempted = 0
        for record in records:
            accounting.events += 1
            message_id = record_id(record, "messageId")
            with correlation(message_id):
                if message_id is None:  # cannot be reported for redelivery: count it, say why
                    self._count(accounting, _Record([], "invalid: SQS record without a usable messageId"))
                    LOG.warning("skipped: SQS record without a usable messageId")
                    continue
                if attempted and _time_left_ms(context) < self.reserve_ms:
                    LOG.warning(
                        "deferred: too little time left in this invocation; the message is redelivered"
                    )
                    failures.append({"itemIdentifier": message_id})
                    self._count(accounting, _Record(["failed"]))
                    continue
                assert pipeline is not None
                attempted += 1
                outcome = self._record(record, message_id, pipeline, accounting)
                if outcome.final() == "failed":
                    failures.append({"itemIdentifier": message_id})
                self._count(accounting, outcome)
        if self._scanner is not None:
            self.metrics.add("ScansStarted", self._scanner.started - started_before)
        self._report(accounting, len(failures))
        return {"batchItemFailures": failures}

    # ------------------------------------------------------------------ one record
    def _record(self, record: Any, owner: str, pipeline: Pipeline, accounting: BatchAccounting) -> _Record:
        request = self._request_body(record)
        if request is not None:
            return self._run_request(request, record, accounting)
        try:
            targets = normalize_sqs_record(record)
        except (UnsupportedEvent, InvalidEvent) as exc:
            return self._skipped(exc)
        if not targets:
            LOG.info("skipped: the event names nothing to scan")
            return _Record([], "unsupported: the event names nothing to scan")
        state = _Record([])
        for target in targets:
            accounting.targets += 1
            current = target
            try:
                current = self._resolve(target)
                outcome = pipeline.process(current, owner=owner)
            except (UnsupportedEvent, InvalidEvent) as exc:
                skipped = self._skipped(exc)
                state.skip_reason = state.skip_reason or skipped.skip_reason
                continue
            except Exception as exc:  # noqa: BLE001 - isolates the record: logged, reported for redelivery
                self._failed(exc, current)
                state.dispositions.append("failed")
                return state  # the record is redelivered: later targets are scanned then
            state.dispositions.append(outcome.disposition)
            accounting.notified += int(outcome.notified)
            if outcome.disposition != "scanned":
                self.metrics.add("ScansDeduplicated")
                continue
            self.metrics.add("ScansSucceeded")
            if outcome.result is not None:
                counts = outcome.result.counts.to_dict()
                accounting.findings.update(counts)
                for label, name in FINDING_METRICS.items():
                    self.metrics.add(name, counts.get(label, 0))
        return state

    def _request_body(self, record: Any) -> Mapping[str, Any] | None:
        """The body of a record that is a request this handler runs, else None (normalized as an event)."""
        if self._requests is None:
            return None
        try:
            _, body = sqs_body(record)
        except (UnsupportedEvent, InvalidEvent):
            return None  # normalize_sqs_record reports it with its reason
        return body if self._requests.matches(body) else None

    def _run_request(
        self, body: Mapping[str, Any], record: Mapping[str, Any], accounting: BatchAccounting
    ) -> _Record:
        assert self._requests is not None
        try:
            enqueued = self._requests.run(body, record)
        except Exception as exc:  # noqa: BLE001 - isolates the record: logged, reported for redelivery
            self._failed(exc, None, what=self._requests.name)
            return _Record(["failed"])
        accounting.enqueued += enqueued
        LOG.info("%s handled: %d scan request(s) enqueued", self._requests.name, enqueued)
        return _Record(["fanned_out"])

    def _skipped(self, exc: UnsupportedEvent | InvalidEvent) -> _Record:
        reason = skip_reason(exc)
        if isinstance(exc, UnsupportedEvent):
            LOG.info("skipped: %s", exc.reason, extra={"skip_reason": reason})
        else:
            LOG.warning("skipped invalid event: %s", exc.reason, extra={"skip_reason": reason})
        return _Record([], reason)

    def _failed(self, exc: Exception, target: ScanTarget | None, *, what: str | None = None) -> None:
        """Log why a record fails; a target's failure counts as `ScansFailed`, a request's does not."""
        if target is not None:
            self.metrics.add("ScansFailed")
        key = target.dedupe_key if target is not None else None
        if what is not None and isinstance(exc, QscanError):
            LOG.error("%s failed, the message is retried: %s", what, exc.reason)
        elif what is not None:
            LOG.exception("%s failed unexpectedly, the message is retried", what)
        elif isinstance(exc, ScanFailed):
            LOG.error(
                "scan failed, the message is retried: %s",
                exc.reason,
                extra={
                    "dedupe_key": key,
                    "status": exc.result.status,
                    "exit_code": exc.result.exit_code_name,
                },
            )
        elif isinstance(exc, TransientError):
            LOG.error("transient failure, the message is retried: %s", exc.reason, extra={"dedupe_key": key})
        elif isinstance(exc, ConfigError):
            LOG.error("misconfiguration, the message is retried: %s", exc.reason, extra={"dedupe_key": key})
        else:
            LOG.exception("unexpected error, the message is retried", extra={"dedupe_key": key})

    # ------------------------------------------------------------------ accounting
    def _count(self, accounting: BatchAccounting, record: _Record) -> None:
        final = record.final()
        if final == "fanned_out":
            accounting.fanned_out += 1
        elif final == "skipped":
            accounting.skip(record.skip_reason or "unsupported: nothing to scan")
            self.metrics.add("EventsSkipped")
        elif final == "failed":
            accounting.failed += 1
        elif final == "scanned":
            accounting.scanned += 1
        elif final == "cached":
            accounting.cached += 1
        else:
            accounting.deduplicated += 1

    def _report(self, accounting: BatchAccounting, failures: int) -> None:
        closes = balance(accounting) == 0
        LOG.info(
            "batch accounting: %d event(s) = %d scanned + %d deduplicated + %d cached + %d skipped + %d failed"
            " + %d fanned out",
            accounting.events,
            accounting.scanned,
            accounting.deduplicated,
            accounting.cached,
            sum(accounting.skipped.values()),
            accounting.failed,
            accounting.fanned_out,
            extra={"accounting": accounting.to_dict(), "closes": closes, "batch_item_failures": failures},
        )
        if not closes:  # a bug in this loop, never expected: say so loudly
            LOG.error("batch accounting does not close", extra={"accounting": accounting.to_dict()})
        self.metrics.flush()


def balance(accounting: Accounting) -> int:
    """events - (scanned + deduplicated + cached + skipped + failed + fanned_out): 0 when the accounting closes."""
    fanned_out = accounting.fanned_out if isinstance(accounting, BatchAccounting) else 0
    return accounting.events - (
        accounting.scanned
        + accounting.deduplicated
        + accounting.cached
        + sum(accounting.skipped.values())
        + accounting.failed
        + fanned_out
    )


def _time_left_ms(context: Any) -> float:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if getter is None:
        return float("inf")
    try:
        return float(getter())
    except (TypeError, ValueError):
        return float("inf")
