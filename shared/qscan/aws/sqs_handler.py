"""The SQS batch loop of a queue-fed Lambda handler: normalize, resolve, scan, report per record.

For every record of a Lambda SQS batch (bodies are EventBridge events), with the SQS `messageId` as the
correlation id of every log line and as the dedupe claim owner (stable across redeliveries, see
`qscan.pipeline`):

1. `normalize_sqs_record` -> targets. `UnsupportedEvent`: skipped quietly (info); `InvalidEvent`: skipped with a
   warning. Both are counted under their reason and never retried.
2. `resolve(target)` completes each target (lookups such as tag -> digest, cross-account credentials); it may
   raise the same permanent errors (that target is skipped) or any other error (the record fails).
3. `Pipeline.process(target, owner=messageId, attempt=...)`.

Anything else (`TransientError` incl. `ScanFailed`, `ConfigError`, an unexpected exception) fails the record.
One record never fails its neighbours, and nothing is swallowed. With `retry` (a `qscan.aws.sqs_retry.SqsRetry`,
which every deployed handler has) a failed record is settled on real SQS semantics (see that module):

- while attempts are left, its `messageId` goes into `batchItemFailures` and its visibility is set to a short
  backoff growing with the attempt number (minutes, not the queue's 6x-function-timeout visibility);
- at its final attempt, or at once when the failure is deterministic (`ScanFailed.deterministic`: invalid
  parameter, artifact not found or unsupported), the handler sends it to the dead-letter queue with its reason
  and attempts and reports it processed (`dead_lettered`); if that send fails it is reported failed and the
  queue's redrive policy dead-letters it.

Without `retry` (tests of the loop alone) a failed record is only reported in `batchItemFailures`, and every
failure counts as final (notified at once).

Records after the first that cannot start because less than `reserve_ms` is left in the invocation are
deferred (the first record always runs, so a tight timeout cannot defer a message forever). Deferral is free:
with `retry` the record is sent again as a copy that keeps its attempt count and the original is reported
processed (`deferred`), so it never burns a receive and never reaches the dead-letter queue unscanned; if the
copy cannot be sent, or without `retry`, it is reported failed (redelivered, not lost).

Requests: a handler may pass `requests` (a `RequestHandler`) for message bodies that ask the handler to do
something instead of naming something to scan: the Lambda scanner's scheduled bulk-scan request, which fans out
into one scan request per function sent back to the same queue. A body it `matches` is handed to its `run`,
which returns how many scan requests it enqueued (each is an event of its own in a later batch) or raises to
fail the record (retried like any failed record, then dead-lettered).

Accounting (one `batch accounting` log line per invocation) is per record, each in exactly one bucket:
events = scanned + deduplicated + cached + skipped(reason) + failed + dead_lettered + deferred + fanned_out,
where `failed` are the records left for redelivery (`batchItemFailures`), `dead_lettered` the ones the handler
moved to the dead-letter queue, `deferred` the ones sent again for a later invocation (each copy is an event of
its own when it comes back) and `fanned_out` counts the requests handled (`enqueued` adds up the scan requests
they sent). A record with several targets takes the most telling disposition: failed > scanned > cached >
deduplicated > skipped. The line's `accounting.accounts` splits the records by the AWS account they came from
(hub-spoke: a spoke's events keep their `account`): the account of the record's (resolved) targets, else the
event's own `account` field; each account's buckets add up to its events (`qscan.pipeline.Accounting.tally`).

Metrics (one EMF line per invocation, names in `qscan.metrics.DASHBOARD_METRICS`): `ScansStarted` (scanner
invocations), `ScansSucceeded` (complete scans), `ScanAttemptsFailed` (every failed attempt of a target:
incomplete scans and errors), `ScansFailed` (targets that failed for good: their final attempt, or a
deterministic failure that is not retried; one per failure alert), `ScansDeduplicated` (targets not scanned
because a claim or a cached result covers them), `EventsSkipped` (records skipped), `EventsDeadLettered`
(records the handler dead-lettered), `Findings<Severity>` (findings of the scans completed in this invocation).
Each is counted for the record's account too (`EmfMetrics.add(..., account=...)`): one EMF line per account
seen, on the `service` series the dashboards and alarms read and on the `service` + `account` series.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from qscan.attempts import Attempt
from qscan.aws.sqs_retry import Failure as FailureKind
from qscan.aws.sqs_retry import SqsRetry
from qscan.errors import ConfigError, InvalidEvent, QscanError, TransientError, UnsupportedEvent
from qscan.events import normalize_sqs_record
from qscan.events.batch import record_id
from qscan.events.sqs import sqs_body
from qscan.log import correlation
from qscan.metrics import FINDING_METRICS, EmfMetrics
from qscan.pipeline import Accounting, Pipeline, ScanFailed
from qscan.redact import redact
from qscan.results.model import ScanResult
from qscan.scanners import Scanner
from qscan.structs import struct
from qscan.target import ScanTarget

if TYPE_CHECKING:
    from qscan.aws.context import LambdaContext

LOG = logging.getLogger(__name__)

Resolver = Callable[[ScanTarget], ScanTarget]
RecordDisposition = Literal[
    "failed", "dead_lettered", "deferred", "fanned_out", "scanned", "cached", "deduplicated", "skipped"
]
_PRIORITY: tuple[RecordDisposition, ...] = (
    "dead_lettered",
    "deferred",
    "failed",
    "fanned_out",
    "scanned",
    "cached",
    "deduplicated",
    "skipped",
)


@struct
class RequestHandler:
    """Message bodies that are requests to the handler (see the module docstring), and how to run them."""

    name: str  # for log lines, e.g. "bulk-scan request"
    matches: Callable[[Mapping[str, Any]], bool]
    run: Callable[[Mapping[str, Any], Mapping[str, Any]], int]  # (body, SQS record) -> scan requests enqueued


@struct(frozen=False)
class BatchAccounting(Accounting):
    """`Accounting` plus the records deferred, the requests a batch handled (`fanned_out`) and what they sent."""

    deferred: int = 0
    fanned_out: int = 0
    enqueued: int = 0

    def to_dict(self) -> dict[str, object]:
        data = Accounting.to_dict(self)
        data.update(deferred=self.deferred, fanned_out=self.fanned_out, enqueued=self.enqueued)
        return data


class CountingScanner:
    """Wraps a scanner to count how many scans actually started (the `ScansStarted` metric)."""

    def __init__(self, inner: Scanner) -> None:
        self.inner = inner
        self.name = inner.name
        self.started = 0
        self.by_account: Counter[str | None] = Counter()  # scans started per target account

    def scan(self, target: ScanTarget) -> ScanResult:
        self.started += 1
        self.by_account[target.account] += 1
        return self.inner.scan(target)


@struct
class Failure:
    """Why a record failed, and whether no retry follows (`final`) (its last attempt, or a deterministic failure)."""

    reason: str
    final: bool
    deterministic: bool = False


@struct(frozen=False)
class _Record:
    """The dispositions of one SQS record's targets, and why it was skipped or failed."""

    dispositions: list[RecordDisposition]
    skip_reason: str | None = None
    failure: Failure | None = None
    account: str | None = None  # the AWS account the record came from, when known

    def final(self) -> RecordDisposition:
        for disposition in _PRIORITY:
            if disposition in self.dispositions:
                return disposition
        return "skipped"


def skip_reason(exc: QscanError) -> str:
    kind = "unsupported" if isinstance(exc, UnsupportedEvent) else "invalid"
    return f"{kind}: {exc.reason}"


def failure_reason(exc: Exception) -> str:
    """One line for logs and the dead letter: the typed reason, never an unexpected exception's text."""
    if isinstance(exc, ScanFailed):
        return exc.reason
    if isinstance(exc, ConfigError):
        return f"misconfiguration: {exc.reason}"
    if isinstance(exc, QscanError):
        return exc.reason
    return f"unexpected error: {type(exc).__name__}"


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
        retry: SqsRetry | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._resolve = resolve
        self.metrics = metrics
        self._scanner = scanner
        self._requests = requests
        self.retry = retry
        self.reserve_ms = reserve_ms  # do not start a record with less time than this left

    def handle(self, event: Any, context: LambdaContext | None = None) -> dict[str, list[dict[str, str]]]:
        """The partial batch response; batch-level lines carry the Lambda request id as correlation id."""
        with correlation(context.aws_request_id if context is not None else None):
            return self._handle(event, context)

    def _handle(self, event: Any, context: LambdaContext | None) -> dict[str, list[dict[str, str]]]:
        accounting = BatchAccounting()
        failures: list[dict[str, str]] = []
        started_before = Counter(self._scanner.by_account) if self._scanner else Counter()
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
                attempt = self.retry.attempt(record) if self.retry is not None else None
                if attempted and _time_left_ms(context) < self.reserve_ms:
                    deferred = self._defer(record, message_id, attempt, failures)
                    deferred.account = event_account(record)
                    self._count(accounting, deferred)
                    continue
                assert pipeline is not None
                attempted += 1
                outcome = self._record(record, message_id, pipeline, accounting, attempt)
                if outcome.final() == "failed":
                    outcome = self._settle(record, message_id, attempt, outcome, failures)
                self._count(accounting, outcome)
        if self._scanner is not None:
            started = Counter(self._scanner.by_account)
            started.subtract(started_before)
            for account, count in started.items():
                if count:
                    self.metrics.add("ScansStarted", count, account=account)
            if not any(started.values()):
                self.metrics.add("ScansStarted", 0)
        self._report(accounting, len(failures))
        return {"batchItemFailures": failures}

    # ------------------------------------------------------------------ deferral and failed records
    def _defer(
        self, record: Any, message_id: str, attempt: Attempt | None, failures: list[dict[str, str]]
    ) -> _Record:
        """A record there is no time left for: sent again for free, else reported failed (redelivered)."""
        if self.retry is not None and attempt is not None and self.retry.requeue(record, attempt):
            LOG.warning("deferred: too little time left in this invocation; sent again, no attempt spent")
            return _Record(["deferred"])
        LOG.warning("deferred: too little time left in this invocation; the message is redelivered")
        failures.append({"itemIdentifier": message_id})
        return _Record(["failed"])

    def _settle(
        self,
        record: Any,
        message_id: str,
        attempt: Attempt | None,
        outcome: _Record,
        failures: list[dict[str, str]],
    ) -> _Record:
        """A failed record: dead-lettered by the handler when no retry follows, else retried after a backoff."""
        failure = outcome.failure or Failure("the record failed", final=attempt is None or attempt.last)
        if self.retry is not None and attempt is not None and failure.final and self.retry.can_dead_letter:
            kind: FailureKind = "deterministic" if failure.deterministic else "exhausted"
            if self.retry.dead_letter(record, attempt, failure.reason, kind):
                LOG.error(
                    "dead-lettered after %s: %s",
                    attempt.describe(),
                    failure.reason,
                    extra={"attempts": attempt.number, "failure": kind},
                )
                self.metrics.add("EventsDeadLettered", account=outcome.account)
                return _Record(["dead_lettered"], account=outcome.account)
            LOG.warning(
                "the dead letter could not be sent: the queue's redrive policy dead-letters the message"
            )
        failures.append({"itemIdentifier": message_id})
        if self.retry is not None and attempt is not None:
            self.retry.back_off(record, attempt)
        return outcome

    # ------------------------------------------------------------------ one record
    def _record(
        self,
        record: Any,
        owner: str,
        pipeline: Pipeline,
        accounting: BatchAccounting,
        attempt: Attempt | None,
    ) -> _Record:
        request = self._request_body(record)
        if request is not None:
            handled = self._run_request(request, record, accounting, attempt)
            handled.account = event_account(record)
            return handled
        try:
            targets = normalize_sqs_record(record)
        except (UnsupportedEvent, InvalidEvent) as exc:
            skipped = self._skipped(exc)
            skipped.account = event_account(record)
            return skipped
        if not targets:
            LOG.info("skipped: the event names nothing to scan")
            return _Record([], "unsupported: the event names nothing to scan", account=event_account(record))
        state = _Record([], account=first_account(targets) or event_account(record))
        for target in targets:
            accounting.targets += 1
            current = target
            try:
                current = self._resolve(target)
                state.account = current.account or state.account
                outcome = pipeline.process(current, owner=owner, attempt=attempt)
            except (UnsupportedEvent, InvalidEvent) as exc:
                skipped = self._skipped(exc)
                state.skip_reason = state.skip_reason or skipped.skip_reason
                continue
            except Exception as exc:  # noqa: BLE001 - isolates the record: logged, reported for redelivery
                state.failure = self._failed(exc, current, attempt)
                state.dispositions.append("failed")
                return state  # the record is redelivered: later targets are scanned then
            state.dispositions.append(outcome.disposition)
            accounting.notified += int(outcome.notified)
            account = current.account
            if outcome.disposition != "scanned":
                self.metrics.add("ScansDeduplicated", account=account)
                continue
            self.metrics.add("ScansSucceeded", account=account)
            if outcome.result is not None:
                counts = outcome.result.counts.to_dict()
                accounting.findings.update(counts)
                for label, name in FINDING_METRICS.items():
                    self.metrics.add(name, counts.get(label, 0), account=account)
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
        self,
        body: Mapping[str, Any],
        record: Mapping[str, Any],
        accounting: BatchAccounting,
        attempt: Attempt | None,
    ) -> _Record:
        assert self._requests is not None
        try:
            enqueued = self._requests.run(body, record)
        except Exception as exc:  # noqa: BLE001 - isolates the record: logged, reported for redelivery
            failure = self._failed(exc, None, attempt, what=self._requests.name)
            return _Record(["failed"], failure=failure)
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

    def _failed(
        self, exc: Exception, target: ScanTarget | None, attempt: Attempt | None, *, what: str | None = None
    ) -> Failure:
        """Log why a record fails and count it: every failed attempt of a target is `ScanAttemptsFailed`,
        the one that ends it (no retry follows) is also `ScansFailed`; a request's failure is neither."""
        if isinstance(exc, ScanFailed):
            failure = Failure(failure_reason(exc), final=exc.final, deterministic=exc.deterministic)
        else:
            failure = Failure(failure_reason(exc), final=attempt is None or attempt.last)
        if target is not None:
            self.metrics.add("ScanAttemptsFailed", account=target.account)
            if failure.final:
                self.metrics.add("ScansFailed", account=target.account)
        then = "no retry follows" if attempt is not None and failure.final else "the message is retried"
        where = f" ({attempt.describe()})" if attempt is not None else ""
        key = target.dedupe_key if target is not None else None
        if what is not None and isinstance(exc, QscanError):
            LOG.error("%s failed%s, %s: %s", what, where, then, exc.reason)
        elif what is not None:
            LOG.exception("%s failed unexpectedly%s, %s", what, where, then)
        elif isinstance(exc, ScanFailed):
            LOG.error(
                "scan failed%s, %s: %s",
                where,
                "not retried (deterministic)"
                if attempt is not None and exc.deterministic and exc.final
                else then,
                redact(exc.reason),
                extra={
                    "dedupe_key": key,
                    "status": exc.result.status,
                    "exit_code": exc.result.exit_code_name,
                    "notified": exc.notified,
                },
            )
        elif isinstance(exc, TransientError):
            LOG.error("transient failure%s, %s: %s", where, then, exc.reason, extra={"dedupe_key": key})
        elif isinstance(exc, ConfigError):
            LOG.error("misconfiguration%s, %s: %s", where, then, exc.reason, extra={"dedupe_key": key})
        else:
            LOG.exception("unexpected error%s, %s", where, then, extra={"dedupe_key": key})
        return failure

    # ------------------------------------------------------------------ accounting
    def _count(self, accounting: BatchAccounting, record: _Record) -> None:
        final = record.final()
        accounting.tally(record.account, final)
        if final == "fanned_out":
            accounting.fanned_out += 1
        elif final == "skipped":
            accounting.skip(record.skip_reason or "unsupported: nothing to scan")
            self.metrics.add("EventsSkipped", account=record.account)
        elif final == "failed":
            accounting.failed += 1
        elif final == "dead_lettered":
            accounting.dead_lettered += 1
        elif final == "deferred":
            accounting.deferred += 1
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
            " + %d dead-lettered + %d deferred + %d fanned out",
            accounting.events,
            accounting.scanned,
            accounting.deduplicated,
            accounting.cached,
            sum(accounting.skipped.values()),
            accounting.failed,
            accounting.dead_lettered,
            accounting.deferred,
            accounting.fanned_out,
            extra={"accounting": accounting.to_dict(), "closes": closes, "batch_item_failures": failures},
        )
        if not closes:  # a bug in this loop, never expected: say so loudly
            LOG.error("batch accounting does not close", extra={"accounting": accounting.to_dict()})
        self.metrics.flush()


def balance(accounting: Accounting) -> int:
    """events - (scanned + deduplicated + cached + skipped + failed + dead_lettered + deferred + fanned_out):
    0 when the accounting closes."""
    extra = accounting.deferred + accounting.fanned_out if isinstance(accounting, BatchAccounting) else 0
    return accounting.events - (
        accounting.scanned
        + accounting.deduplicated
        + accounting.cached
        + sum(accounting.skipped.values())
        + accounting.failed
        + accounting.dead_lettered
        + extra
    )


def first_account(targets: Iterable[ScanTarget]) -> str | None:
    """The account of the first target that names one."""
    return next((t.account for t in targets if t.account), None)


def event_account(record: Any) -> str | None:
    """The `account` of the EventBridge event in an SQS record's body, when it is a 12-digit account id."""
    try:
        _, body = sqs_body(record)
    except (UnsupportedEvent, InvalidEvent):
        return None
    account = body.get("account") if isinstance(body, dict) else None
    return account if isinstance(account, str) and re.fullmatch(r"[0-9]{12}", account) else None


def _time_left_ms(context: LambdaContext | None) -> float:
    """Milliseconds left in the invocation; unbounded without a context (the loop run outside Lambda)."""
    return float("inf") if context is None else float(context.get_remaining_time_in_millis())
