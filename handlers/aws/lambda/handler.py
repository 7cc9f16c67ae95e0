"""Lambda function scanning: the Lambda handler behind modules/lambda (runtime python3.12, SQS trigger).

The trigger is an SQS batch whose message bodies are
- EventBridge CloudTrail events `CreateFunction20150331`, `UpdateFunctionCode20150331v2`,
  `UpdateFunctionConfiguration20150331v2` (normalized by `qscan.events.aws_lambda`);
- reconciler scan requests (`qscan.reconciler`), e.g. the ones a bulk scan enqueued;
- the scheduled bulk-scan request (`qscan.bulk-scan`, see below).

Per function target (the loop, partial batch response, accounting line and EMF metrics are
`qscan.aws.sqs_handler.SqsScanHandler`; the cold start is `qscan.aws.queue_handler.QueueScanHandler`):

1. **Own functions are skipped** before anything is read: a function of this account and region whose name is
   exactly one of QSCAN_SELF_FUNCTION_NAMES (modules/lambda passes the scanner names of the deployment; unset:
   `qscan-ecr-scanner`, `qscan-lambda-scanner`), and this function itself (its ARN, from the first
   invocation's context), are qscan's own (`qscan.aws.lambdas.is_own_function`): skipped with the reason
   `own function`, never retried. Names are never prefixes (a customer's `qscan-billing` is scanned), and a
   function of another account or region is never own by its name (a spoke's `qscan-lambda-scanner`
   forwarded to a hub is scanned); it is own only by its exact ARN. QSCAN_SELF_FUNCTION_PREFIX is deprecated
   and ignored (a warning at cold start says so).
2. **GetFunction, always** (`qscan.aws.lambdas.resolve_function`, with the account's credentials: the function's
   own for this account, the assumed spoke role for others): the code SHA-256, package type, layer version
   ARNs and resolved image URI of what is deployed NOW. Even an event that carries them is looked up, so the
   dedupe key names what qscanner actually reads (an event may have waited in the queue while the function
   changed again). Zip functions dedupe on `lambda#<arn>#<code sha>#<layer version ARNs>` (a layer-only update
   rescans; a configuration update that changes neither is a cache hit); container-image functions become
   image targets (platform `lambda`) deduped on the image digest. A function deleted since the event is
   `FunctionGone`: skipped with its reason.
3. **Scan** with qscanner: `qscanner lambda <arn>` for zip functions, `qscanner image <registry/repo@digest>`
   for image functions (the runner picks the subcommand by target kind); cross-account targets run qscanner
   with the spoke role's temporary credentials in its environment only.
4. **Persist**, then, with QSCAN_TAG_FUNCTIONS=true, **tag** the function (`QualysScanStatus`,
   `QualysScanTime`, `QualysCritical`, `QualysHigh`; `qscan.aws.lambdas.tags.tag_function`, imported only when
   tagging is on; best effort: a failure is logged and counted as the `FunctionTagFailures` metric and never
   fails the record), then **notify** and complete the claim (`qscan.pipeline.Pipeline`). TagResource does not
   match the deployment rule, so tags never trigger a rescan.

Cross-account functions (events forwarded from spokes to a hub bus) need QSCAN_SPOKE_ROLE_NAME and
QSCAN_SPOKE_EXTERNAL_ID; without them such a record FAILS (retried, then dead-lettered with an alarm), like the
ECR handler.

**Bulk-scan requests.** A body `qscan.aws.lambdas.bulk_request.is_bulk_scan_request` accepts (the module's
optional schedule puts one into the queue) runs `qscan.aws.lambdas.bulk_scan.scheduled_bulk_scan` (imported when
the first request arrives: an invocation that only scans never loads it): this account's functions in the
request's region (own functions skipped by the same rule) are listed and one scan request per function is sent
back to the scan queue: QSCAN_SCAN_QUEUE_URL, else the queue the request came from (the record's `eventSourceARN`). In the
accounting the request is counted under `fanned_out` (the scan requests it sent add up under `enqueued`; each
is an event of its own when it comes back). A bulk scan that could not enqueue everything, or could not list
a region, fails the record: it is redelivered and the whole listing repeats (functions already scanned are
cache hits), then dead-lettered with its alarm; an unusable queue or bad request input fails it too.

Metrics: `qscan.metrics.DASHBOARD_METRICS` (what modules/lambda's dashboard reads) on every flush, plus
`FunctionTagFailures` (always emitted when tagging is on), each also per account (the function's account).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from qscan.aws.lambdas.bulk_request import DEFAULT_OWN_FUNCTIONS, is_bulk_scan_request
from qscan.aws.lambdas.resolve import (
    is_own_function,
    locate_function,
    resolve_function,
    unqualified_function_arn,
)
from qscan.aws.queue_handler import BatchResponse, QueueScanHandler, cold_start
from qscan.aws.sqs_handler import RequestHandler
from qscan.errors import ConfigError, TransientError, UnsupportedEvent
from qscan.events.aws_lambda import FUNCTION_ARN_RE
from qscan.metrics import DASHBOARD_METRICS

if TYPE_CHECKING:
    from qscan.aws.context import LambdaContext
    from qscan.config import Settings
    from qscan.metrics import EmfMetrics, Unit
    from qscan.results.model import ScanResult
    from qscan.results.store import ResultStore
    from qscan.target import ScanTarget

LOG = logging.getLogger("qscan.handlers.lambda")

# Regular expressions as pattern strings, compiled on first use (re's cache), not at import.
_QUEUE_ARN_RE = (
    r"arn:aws[a-z-]*:sqs:(?P<region>[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}):(?P<account>[0-9]{12}):"
    r"(?P<name>[A-Za-z0-9_-]{1,80}(?:\.fifo)?)"
)


class OwnFunction(UnsupportedEvent):
    """One of the scanner's own functions: never scanned, never retried."""


class AccountMetrics:
    """The handler's metrics, each value counted for one account too (`EmfMetrics.add(..., account=...)`)."""

    def __init__(self, metrics: EmfMetrics, account: str | None) -> None:
        self.metrics = metrics
        self.account = account

    def add(self, name: str, value: float = 1, unit: Unit = "Count") -> None:
        self.metrics.add(name, value, unit, account=self.account)


class TaggingResults:
    """A result store that mirrors every persisted result into its function's tags (persist -> tag -> notify)."""

    def __init__(self, inner: ResultStore, handler: LambdaHandler) -> None:
        self.inner = inner
        self.handler = handler

    def put_result(self, result: ScanResult) -> str:
        location = self.inner.put_result(result)
        self.handler.tag(result)
        return location

    def get_result(self, location: str) -> dict[str, Any]:
        return self.inner.get_result(location)


class LambdaHandler(QueueScanHandler):
    """The Lambda function scanner (see the module docstring)."""

    service_name = "qscan-lambda"  # default `service` metric dimension (the module sets QSCAN_SERVICE_NAME)
    session_name = "qscan-lambda-scanner"

    def __init__(self, settings: Settings, *, region: str | None = None) -> None:
        self.own_names = settings.self_function_names or DEFAULT_OWN_FUNCTIONS
        self.own_arn: str | None = None  # this function, from the first invocation's context
        if settings.self_function_prefix:
            LOG.warning(
                "QSCAN_SELF_FUNCTION_PREFIX is deprecated and ignored (a prefix also matches customers' "
                "functions): list qscan's own functions in QSCAN_SELF_FUNCTION_NAMES"
            )
        super().__init__(settings, region=region)

    # ------------------------------------------------------------------ QueueScanHandler hooks
    def declared_metrics(self) -> tuple[str, ...]:
        if self.settings.tag_functions:
            from qscan.aws.lambdas.tags import TAG_FAILURE_METRIC  # noqa: PLC0415 - only when tagging

            return (*DASHBOARD_METRICS, TAG_FAILURE_METRIC)
        return DASHBOARD_METRICS

    def wrap_results(self, store: ResultStore) -> ResultStore:
        return TaggingResults(store, self) if self.settings.tag_functions else store

    def request_handler(self) -> RequestHandler:
        return RequestHandler("bulk-scan request", is_bulk_scan_request, self.bulk_scan)

    def first_invocation(self, context: LambdaContext | None) -> None:
        super().first_invocation(context)
        if context is not None and re.fullmatch(FUNCTION_ARN_RE, context.invoked_function_arn):
            self.own_arn = unqualified_function_arn(context.invoked_function_arn)

    def own_functions(self) -> tuple[str, ...]:
        """qscan's own function names (of this account and region) and this function's ARN."""
        return (*self.own_names, self.own_arn) if self.own_arn else tuple(self.own_names)

    # ------------------------------------------------------------------ per target
    def resolve(self, target: ScanTarget) -> ScanTarget:
        """The function's deployed state from GetFunction (see the module docstring); raises to skip or fail."""
        if target.platform != "lambda":
            raise UnsupportedEvent(f"{target.platform} targets are not scanned by the Lambda handler")
        if target.lookup not in (None, "lambda_function"):
            raise UnsupportedEvent(f"lookup {target.lookup} is not done by the Lambda handler")
        locator = locate_function(target)
        own_account = self.accounts.own_account()
        if is_own_function(target, self.own_functions(), own_account=own_account, own_region=self.region):
            LOG.info("skipped own function %s", locator.name, extra={"function_name": locator.name})
            raise OwnFunction(
                "own function: qscan's own functions (QSCAN_SELF_FUNCTION_NAMES) are never scanned"
            )
        account = locator.account or own_account
        region = locator.region or self.region
        if not region:
            raise ConfigError("the event has no region and AWS_REGION is not set")
        resolved = resolve_function(target, self.accounts.client("lambda", account, region))
        LOG.info(
            "resolved %s (%s) to %s",
            locator.name,
            resolved.package_type,
            resolved.dedupe_key,
            extra={"function_arn": resolved.function_arn, "dedupe_key": resolved.dedupe_key},
        )
        return resolved

    def tag(self, result: ScanResult) -> bool:
        """Tag the scanned function with its result; best effort (False when it failed, logged and counted)."""
        from qscan.aws.lambdas.tags import TAG_FAILURE_METRIC, tag_function  # noqa: PLC0415 - only when tagging

        target = result.target
        if not target.function_arn:
            return False
        metrics = AccountMetrics(self.metrics, target.account)
        try:
            client = self.accounts.client("lambda", target.account, target.region)
        except Exception as exc:  # noqa: BLE001 - tagging never fails the scan
            reason = getattr(exc, "reason", type(exc).__name__)
            LOG.warning("could not tag %s (the scan result stands): %s", target.function_arn, reason)
            metrics.add(TAG_FAILURE_METRIC)
            return False
        return tag_function(client, target.function_arn, result, metrics=metrics)

    # ------------------------------------------------------------------ bulk scan
    def bulk_scan(self, body: Mapping[str, Any], record: Mapping[str, Any]) -> int:
        """Run a bulk-scan request; returns the scan requests enqueued, raises when not all could be."""
        from qscan.aws.lambdas.bulk_scan import scheduled_bulk_scan  # noqa: PLC0415 - only for requests

        queue_url, queue_region = self.scan_queue(record)
        summary = scheduled_bulk_scan(
            body,
            lambda_client=lambda region: self.clients.client("lambda", region=region),
            sqs_client=self.clients.client("sqs", region=queue_region),
            default_regions=(self.region,) if self.region else (),
            default_queue_url=queue_url,
            own_functions=self.own_functions(),
            own_account=self.accounts.own_account(),
            own_region=self.region,
        )
        if not summary["ok"]:
            regions = ", ".join(sorted(summary["region_errors"])) or "none"
            raise TransientError(
                f"bulk scan incomplete: {summary['failed']} scan request(s) not enqueued, "
                f"regions not listed: {regions}"
            )
        return int(summary["enqueued"])

    def scan_queue(self, record: Mapping[str, Any]) -> tuple[str, str | None]:
        """The queue bulk scans enqueue into (QSCAN_SCAN_QUEUE_URL, else the record's queue) and its region."""
        if self.settings.scan_queue_url:
            return self.settings.scan_queue_url, self.region
        source = record.get("eventSourceARN")
        match = re.fullmatch(_QUEUE_ARN_RE, source) if isinstance(source, str) else None
        if match is None:
            raise ConfigError(
                "the bulk-scan request's record has no SQS eventSourceARN: set QSCAN_SCAN_QUEUE_URL"
            )
        region = match["region"]
        endpoint = str(self.clients.client("sqs", region=region).meta.endpoint_url).rstrip("/")
        return f"{endpoint}/{match['account']}/{match['name']}", region


HANDLER = cold_start(LambdaHandler)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> BatchResponse:
    """Lambda entry point: returns the SQS partial batch response."""
    return HANDLER.handle(event, context)
