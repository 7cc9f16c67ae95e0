"""The AWS reconciler: one scheduled run (handlers/aws/reconciler, EventBridge Scheduler; docs/reconciler.md).

Per account (this function's own, then QSCAN_RECONCILE_ACCOUNTS through the spoke role), `AwsReconciler.run`:

1. lists QSCAN_RECONCILE_SERVICES in QSCAN_RECONCILE_REGIONS (`qscan.aws.inventory`: ECR images pushed within
   QSCAN_RECONCILE_LOOKBACK_DAYS, images of RUNNING ECS tasks, Lambda functions without qscan's own);
2. decides with the cloud-neutral core (`qscan.reconcile.core.reconcile_scope`: the DynamoDB dedupe store says
   what is fresh; missing or expired -> one scan request, idempotent across overlapping runs through the
   `reconcile#<key>` marker), reading and writing the account's snapshot
   (`inventory/aws/<account>/latest.json`) and run state (`state.json` beside it) in the results bucket;
3. sends each request where the handler that accepts it lives:
   - an ECR image -> the ECR scan queue (QSCAN_RECONCILE_ECR_QUEUE_URL; the ECR handler resolves and scans it),
   - a running ECS image -> a new execution of the Fargate workflow (QSCAN_RECONCILE_STATE_MACHINE_ARN; its
     parse step accepts the request: the image is resolved already), named `reconcile-<request id>`,
   - a Lambda function (zip, or container image at its digest) -> the Lambda scan queue
     (QSCAN_RECONCILE_LAMBDA_QUEUE_URL);
   each destination is required when its service is listed (`ConfigError` at cold start otherwise);
4. logs one `reconcile summary` line per account (structured field `reconcile`: the core's summary plus
   `account`, and `complete`) and flushes the EMF metrics of the run (namespace QSCAN_METRICS_NAMESPACE,
   dimension `service` = QSCAN_SERVICE_NAME or `qscan-reconciler`): `ReconcileRuns` (1 per run),
   `ArtifactsFound` (unique artifacts), `ScanRequestsEnqueued`, `NeverScanned`, `StaleArtifacts`,
   `ReconcileErrors` (failed sources, unresolved artifacts, failed sends) and `ReconcileTruncated` (accounts a
   limit cut short). The alarm "never-scanned above zero for a day" reads `NeverScanned`.

An account whose run fails as a whole (its spoke role cannot be assumed, the dedupe store or the results bucket
fails) is logged and counted under `ReconcileErrors`, and the next account runs; when every account failed the
invocation fails (the function's errors alarm).

Limits: QSCAN_RECONCILE_MAX_PAGES and _MAX_REQUESTS hold per account; QSCAN_RECONCILE_MAX_SECONDS is one budget
for the whole run (an account it does not reach is logged, counted as truncated, and waits for the next run).
The rescan interval is the cache TTL (QSCAN_CACHE_TTL_SECONDS). Images of ECS tasks known only by tag are
resolved through `qscan.aws.ecs.ImageResolver` (ECR with the account's credentials; other registries
anonymously over the distribution API: a private non-ECR image without a digest is an unresolved error).
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from typing import Any

from qscan.aws.inventory import aws_sources
from qscan.aws.sessions import Accounts, ClientFactory
from qscan.cloud_errors import aws_error, aws_error_code
from qscan.config import Settings
from qscan.dedupe.base import Clock, DedupeStore, system_clock
from qscan.errors import ConfigError, QscanError
from qscan.metrics import EmfMetrics
from qscan.reconcile.core import Discovered, Limits, Reconciliation, reconcile_scope
from qscan.refs import aws_partition
from qscan.results.store import DocumentStore
from qscan.target import ScanTarget

LOG = logging.getLogger(__name__)
SERVICE_NAME = "qscan-reconciler"
SESSION_NAME = "qscan-reconciler"
METRICS: tuple[str, ...] = (
    "ReconcileRuns",
    "ArtifactsFound",
    "ScanRequestsEnqueued",
    "NeverScanned",
    "StaleArtifacts",
    "ReconcileErrors",
    "ReconcileTruncated",
)


class AwsReconciler:
    """Everything one run needs, created once per cold start (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        *,
        region: str | None = None,
        store: DedupeStore | None = None,
        results: DocumentStore | None = None,
        clock: Clock = system_clock,
        stdout: Any = None,
    ) -> None:
        if settings.cloud != "aws":
            raise ConfigError("QSCAN_CLOUD must be aws for the AWS reconciler")
        self.settings = settings
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not self.region:
            raise ConfigError("AWS_REGION is not set")
        self.regions = settings.reconcile_regions or (self.region,)
        self.destinations = _destinations(settings)
        self.clock = clock
        self.clients = ClientFactory(endpoint_url=settings.aws_endpoint_url, region=self.region)
        self.accounts = Accounts(
            self.clients,
            role_name=settings.spoke_role_name,
            external_id=settings.spoke_external_id,
            partition=aws_partition(self.region),
            session_name=SESSION_NAME,
        )
        if store is None:
            from qscan.dedupe.dynamodb import DynamoDBDedupeStore  # noqa: PLC0415

            store = DynamoDBDedupeStore(
                settings.require("dedupe_table", "the dedupe store"),
                client=self.clients.client("dynamodb"),
                clock=clock,
            )
        self.store = store
        if results is None:
            from qscan.results.s3 import S3ResultStore  # noqa: PLC0415

            results = S3ResultStore(
                settings.require("results_bucket", "the inventory snapshots"),
                client=self.clients.client("s3"),
                kms_key_id=settings.results_kms_key_id,
            )
        self.results = results
        self.metrics = EmfMetrics(
            settings.metrics_namespace,
            {"service": settings.service_name or SERVICE_NAME},
            declared=METRICS,
            stream=stdout,
        )
        from qscan.registry.platform import parse_platform  # noqa: PLC0415

        self.platform = parse_platform(settings.image_platform)
        self._http: Any | None = None

    # ------------------------------------------------------------------ one run
    def run(self, run_id: str | None = None, *, own_functions: tuple[str, ...] = ()) -> dict[str, Any]:
        """One run over every account; returns the summaries (also logged). `own_functions`: names or ARNs
        of qscan's functions besides QSCAN_SELF_FUNCTION_NAMES (the handler adds its own ARN)."""
        run_id = (
            run_id
            or f"run-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(self.clock()))}-{uuid.uuid4().hex[:8]}"
        )
        started = self.clock()
        own = self.accounts.own_account()
        from qscan.aws.lambdas.bulk_request import DEFAULT_OWN_FUNCTIONS  # noqa: PLC0415

        names = tuple(self.settings.self_function_names or DEFAULT_OWN_FUNCTIONS) + own_functions
        accounts = (own, *[a for a in self.settings.reconcile_accounts if a != own])
        summaries: list[dict[str, Any]] = []
        failures: list[QscanError] = []
        for account in accounts:
            remaining = self.settings.reconcile_max_seconds - (self.clock() - started)
            if remaining <= 0:
                LOG.warning(
                    "reconcile: no time left for account %s: next run", account, extra={"account": account}
                )
                self.metrics.add("ReconcileTruncated")
                summaries.append({"account": account, "truncated_by": "seconds", "complete": False})
                continue
            try:
                outcome = self._account(account, run_id, remaining, names, own)
            except QscanError as exc:  # the account's credentials or the store failed: the next account runs
                LOG.error("reconcile: account %s failed: %s", account, exc.reason, extra={"account": account})
                self.metrics.add("ReconcileErrors")
                summaries.append({"account": account, "error": exc.reason, "complete": False})
                failures.append(exc)
                continue
            summary = {
                **outcome.summary.to_dict(),
                "account": account,
                "complete": outcome.inventory.complete,
            }
            summaries.append(summary)
            log = LOG.info if outcome.inventory.complete else LOG.warning
            log("reconcile summary", extra={"reconcile": summary, "account": account})
            self._count(outcome)
        self.metrics.add("ReconcileRuns")
        self.metrics.flush()
        if failures and len(failures) == len(accounts):
            raise failures[-1]  # nothing was decided (the dedupe store or the bucket): the invocation fails
        return {"run_id": run_id, "accounts": summaries}

    def _account(
        self, account: str, run_id: str, seconds: float, own_functions: tuple[str, ...], own: str
    ) -> Reconciliation:
        settings = self.settings

        def client_for(service: str, in_account: str, region: str) -> Any:
            return self.accounts.client(service, in_account, region)

        sources = aws_sources(
            client_for,
            account,
            self.regions,
            now=self.clock(),
            pushed_within_seconds=settings.reconcile_lookback_days * 24 * 3600,
            resolve_image=self._resolve_image,
            own_functions=own_functions,
            own_account=own,
            own_region=str(self.region),
            services=settings.reconcile_services,
        )
        return reconcile_scope(
            self.results,
            cloud="aws",
            scope=account,
            sources=sources,
            store=self.store,
            enqueue=self._send,
            run_id=run_id,
            limits=Limits(
                max_pages=settings.reconcile_max_pages,
                max_seconds=max(1.0, seconds),
                max_requests=settings.reconcile_max_requests,
            ),
            rescan_interval_seconds=settings.cache_ttl_seconds,
            request_window_seconds=float(settings.reconcile_request_window_seconds),
            clock=self.clock,
        )

    def _count(self, outcome: Reconciliation) -> None:
        summary = outcome.summary
        self.metrics.add("ArtifactsFound", summary.unique)
        self.metrics.add("ScanRequestsEnqueued", summary.enqueued)
        self.metrics.add("NeverScanned", summary.never_scanned)
        self.metrics.add("StaleArtifacts", summary.stale)
        self.metrics.add("ReconcileErrors", summary.error_count)
        if summary.truncated_by is not None:
            self.metrics.add("ReconcileTruncated")

    # ------------------------------------------------------------------ destinations
    def _send(self, item: Discovered, event: dict[str, Any]) -> None:
        body = json.dumps(event, sort_keys=True, separators=(",", ":"))
        kind, destination = self.destinations[item.platform]
        try:
            if kind == "queue":
                self.clients.client("sqs").send_message(QueueUrl=destination, MessageBody=body)
            else:
                self.clients.client("stepfunctions").start_execution(
                    stateMachineArn=destination, name=f"reconcile-{event['id']}"[:80], input=body
                )
        except Exception as exc:
            mapped = aws_error(exc, f"sending a scan request to {kind} {destination}")
            if mapped is not None:
                raise mapped from exc
            code = aws_error_code(exc)
            if not code:
                raise
            raise QscanError(f"sending a scan request to {kind} {destination}: {code}") from exc

    def _resolve_image(self, target: ScanTarget) -> ScanTarget:
        from qscan.aws.ecs import ImageResolver  # noqa: PLC0415 - only for images without a digest

        resolver = ImageResolver(
            lambda account, region: self.accounts.client("ecr", account, region), self._http_client
        )
        return resolver.resolve(target, self.platform)

    def _http_client(self) -> Any:
        if self._http is None:
            from qscan.registry.client import DistributionClient  # noqa: PLC0415 - on first use

            self._http = DistributionClient()
        return self._http


def _destinations(settings: Settings) -> dict[str, tuple[str, str]]:
    """platform -> (queue | workflow, URL or ARN), for every listed service; ConfigError when one is missing."""
    wanted: dict[str, tuple[str, str, str]] = {
        "ecr": ("queue", "reconcile_ecr_queue_url", "ECR images"),
        "ecs": ("workflow", "reconcile_state_machine_arn", "running ECS images"),
        "lambda": ("queue", "reconcile_lambda_queue_url", "Lambda functions"),
    }
    found: dict[str, tuple[str, str]] = {}
    for service in settings.reconcile_services:
        kind, field, what = wanted[service]
        found[service] = (kind, settings.require(field, f"the reconciler's requests for {what}"))
    return found
