"""The queue-fed AWS scanner handlers (ECR, Lambda): `QueueScanHandler`, an `AwsScanHandler` with the SQS loop.

A handler module subclasses `QueueScanHandler`, implements `resolve(target)` (complete one normalized target:
lookups, account, credentials; raise `UnsupportedEvent` / `InvalidEvent` to skip it with a reason) and builds
its singleton with `cold_start(HandlerClass)` at import time, like Lambda's init phase:

    class EcrHandler(QueueScanHandler):
        service_name = "qscan-ecr"
        session_name = "qscan-ecr-scanner"

        def resolve(self, target: ScanTarget) -> ScanTarget: ...

    HANDLER = cold_start(EcrHandler)

What every AWS handler creates once per cold start (clients, accounts, stores, publisher, metrics, the Qualys
secret, the scanner, the pipeline) is `qscan.aws.scan_handler.AwsScanHandler`. This class adds the SQS batch
loop (`qscan.aws.sqs_handler.SqsScanHandler`, with the handler's `request_handler`, if any, and the retry
mechanics of `qscan.aws.sqs_retry`: backoff QSCAN_RETRY_BACKOFF_BASE_SECONDS / _MAX_SECONDS, attempts
QSCAN_MAX_RECEIVE_COUNT, dead letters to QSCAN_DEAD_LETTER_QUEUE_ARN; its SQS clients are created on first use).
A cold start that fails (bad settings, unreadable secret) raises: every invocation then fails and the queue's
retries and dead-letter alarm make it visible.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qscan.aws.scan_handler import AwsScanHandler, cold_start
from qscan.aws.sqs_handler import RequestHandler, SqsScanHandler
from qscan.aws.sqs_retry import Backoff, SqsRetry
from qscan.config import Settings
from qscan.target import ScanTarget

if TYPE_CHECKING:
    from qscan.aws.context import LambdaContext

__all__ = ["BatchResponse", "QueueScanHandler", "cold_start"]

RECORD_RESERVE_SECONDS = 30  # time to persist and notify after a scan that used its whole timeout

BatchResponse = dict[str, list[dict[str, str]]]


class QueueScanHandler(AwsScanHandler):
    """An `AwsScanHandler` fed by an SQS queue: the batch loop and the per-invocation entry point."""

    def __init__(self, settings: Settings, *, region: str | None = None) -> None:
        super().__init__(settings, region=region)
        self.loop = SqsScanHandler(
            self.current_pipeline,
            self.resolve,
            self.metrics,
            scanner=self.scanner,
            reserve_ms=(settings.scan_timeout_seconds + RECORD_RESERVE_SECONDS) * 1000,
            requests=self.request_handler(),
            retry=SqsRetry(
                lambda region: self.clients.client("sqs", region=region),  # created on first use
                backoff=Backoff(settings.retry_backoff_base_seconds, settings.retry_backoff_max_seconds),
                max_receive_count=settings.max_receive_count,
                dead_letter_queue_arn=settings.dead_letter_queue_arn,
            ),
        )

    # ------------------------------------------------------------------ what subclasses provide
    def resolve(self, target: ScanTarget) -> ScanTarget:
        """Complete one normalized target for the pipeline; raise UnsupportedEvent/InvalidEvent to skip it."""
        raise NotImplementedError

    def request_handler(self) -> RequestHandler | None:
        """Message bodies this handler runs as requests instead of scanning (none by default)."""
        return None

    # ------------------------------------------------------------------ entry point
    def handle(self, event: Any, context: LambdaContext | None = None) -> BatchResponse:
        """One SQS batch -> the partial batch response (no context: tests that call the handler directly)."""
        self.seen(context)
        return self.loop.handle(event, context)
