"""ECR push scanning: the Lambda handler behind modules/ecr (runtime python3.12, SQS trigger).

The trigger is an SQS batch whose message bodies are EventBridge events: the native `ECR Image Action` push,
or the CloudTrail `PutImage` call. Each record is normalized to its image target, completed (registry from the
event's account and region, falling back on the function's own; tag -> digest through `ecr:DescribeImages`
when the event carries only a tag), then claimed, scanned with qscanner, persisted, notified and completed by
`qscan.pipeline.Pipeline`, with the SQS messageId as correlation id and claim owner. The loop, the partial
batch response (`batchItemFailures`), the accounting line and the EMF metrics are
`qscan.aws.sqs_handler.SqsScanHandler`.

Cross-account images (the event's account is not this function's account, e.g. spokes forwarding to a hub bus)
are read with `arn:<partition>:iam::<account>:role/<QSCAN_SPOKE_ROLE_NAME>` assumed with
`QSCAN_SPOKE_EXTERNAL_ID`: for the digest lookup and, as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
AWS_SESSION_TOKEN in qscanner's environment only, for the pull. Without those settings such a record FAILS
(it is retried, then dead-lettered with an alarm): a deployment that receives events it cannot read is
misconfigured, and skipping would hide that. The partition comes from the function's ARN, else its region.

Cold start (module import, once per execution environment): JSON logging, settings, the Qualys secret, boto3
clients (all with QSCAN_AWS_ENDPOINT_URL), dedupe store, result store, publisher and scanner. A cold start that
fails (bad settings, unreadable secret) raises: every invocation then fails and the queue's retries and
dead-letter alarm make it visible. Only what every invocation needs is imported here.
"""

from __future__ import annotations

import logging
import os
import tempfile
from typing import Any

from qscan.aws.ecr import resolve_tag_digest, with_registry
from qscan.aws.sessions import Accounts, ClientFactory, partition_for_region, partition_from_arn
from qscan.aws.sqs_handler import CountingScanner, SqsScanHandler
from qscan.config import Settings
from qscan.dedupe.dynamodb import DynamoDBDedupeStore
from qscan.errors import ConfigError, QscanError, TransientError, UnsupportedEvent
from qscan.log import configure_logging
from qscan.metrics import DASHBOARD_METRICS, EmfMetrics
from qscan.notify import publisher_from_settings
from qscan.pipeline import Pipeline
from qscan.results.s3 import S3ResultStore
from qscan.scanners.qscanner import QscannerOptions, QscannerRunner
from qscan.secrets import QualysSecret, load_qualys_secret
from qscan.target import ScanTarget

LOG = logging.getLogger("qscan.handlers.ecr")

SERVICE_NAME = "qscan-ecr"  # default `service` metric dimension (the module sets QSCAN_SERVICE_NAME)
SESSION_NAME = "qscan-ecr-scanner"
CREDENTIAL_MARGIN_SECONDS = 120  # assumed credentials must outlive a scan by this much
RECORD_RESERVE_SECONDS = 30  # time to persist and notify after a scan that used its whole timeout


class EcrHandler:
    """Everything created once per cold start, and the per-invocation entry point."""

    def __init__(self, settings: Settings, *, region: str | None = None) -> None:
        if settings.cloud != "aws":
            raise ConfigError("QSCAN_CLOUD must be aws for the ECR handler")
        if settings.scanner_backend != "qscanner":
            raise ConfigError("QSCAN_SCANNER_BACKEND must be qscanner for the ECR handler")
        self.settings = settings
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        self.clients = ClientFactory(endpoint_url=settings.aws_endpoint_url, region=self.region)
        self.accounts = Accounts(
            self.clients,
            role_name=settings.spoke_role_name,
            external_id=settings.spoke_external_id,
            partition=partition_for_region(self.region),
            session_name=SESSION_NAME,
            min_validity_seconds=settings.scan_timeout_seconds + CREDENTIAL_MARGIN_SECONDS,
        )
        self.store = DynamoDBDedupeStore(
            settings.require("dedupe_table", "the dedupe store"), client=self.clients.client("dynamodb")
        )
        self.results = S3ResultStore(
            settings.require("results_bucket", "scan results"),
            client=self.clients.client("s3"),
            kms_key_id=settings.results_kms_key_id,
        )
        self.publisher = publisher_from_settings(settings)
        self.metrics = EmfMetrics(
            settings.metrics_namespace,
            {"service": settings.service_name or SERVICE_NAME},
            declared=DASHBOARD_METRICS,
        )
        self.secret = load_qualys_secret(settings, sm_client=self._secrets_client())
        self.scanner = CountingScanner(self._runner(self.secret))
        self.pipeline = self._pipeline()
        self.loop = SqsScanHandler(
            self.current_pipeline,
            self.resolve,
            self.metrics,
            scanner=self.scanner,
            reserve_ms=(settings.scan_timeout_seconds + RECORD_RESERVE_SECONDS) * 1000,
        )
        self._partition_known = False

    # ------------------------------------------------------------------ cold start parts
    def _secrets_client(self) -> Any | None:
        return self.clients.client("secretsmanager") if self.settings.qualys_secret_arn else None

    def _runner(self, secret: QualysSecret) -> QscannerRunner:
        if not secret.pod:
            raise ConfigError(
                "the Qualys secret needs a pod (e.g. US2): qscanner takes a POD, not a gateway URL"
            )
        base = os.path.join(tempfile.gettempdir(), "qscan")  # /tmp on Lambda: the only writable place
        return QscannerRunner(
            QscannerOptions(
                executable=self.settings.qscanner_path,
                pod=secret.pod,
                access_token=secret.access_token or "",
                scan_types=self.settings.scan_types,
                timeout_seconds=float(self.settings.scan_timeout_seconds),
                work_dir=os.path.join(base, "work"),
                cache_dir=os.path.join(base, "cache"),
                home_dir=os.path.join(base, "home"),
                target_env=self._scanner_env,
            )
        )

    def _pipeline(self) -> Pipeline:
        return Pipeline(
            store=self.store,
            scanner=self.scanner,
            results=self.results,
            publisher=self.publisher,
            threshold=self.settings.severity_threshold,
            lease_seconds=self.settings.lease_seconds,
            cache_ttl_seconds=self.settings.cache_ttl_seconds,
        )

    def current_pipeline(self) -> Pipeline:
        """The pipeline, rebuilt when the Qualys secret (cached 15 min by qscan.secrets) has been rotated."""
        try:
            secret = load_qualys_secret(self.settings, sm_client=self._secrets_client())
        except TransientError as exc:
            LOG.warning("Qualys secret refresh failed, keeping the loaded one: %s", exc.reason)
            return self.pipeline
        if (secret.pod, secret.access_token) != (self.secret.pod, self.secret.access_token):
            LOG.info("Qualys secret changed: scanner rebuilt")
            self.scanner.inner = self._runner(secret)
            self.secret = secret
        return self.pipeline

    # ------------------------------------------------------------------ per target
    def resolve(self, target: ScanTarget) -> ScanTarget:
        """Complete an ECR target: registry, account credentials, digest. Raises for what cannot be scanned."""
        if target.platform != "ecr" or target.kind != "image":
            raise UnsupportedEvent(
                f"{target.platform} {target.kind} targets are not scanned by the ECR handler"
            )
        if target.lookup not in (None, "image_digest"):
            raise UnsupportedEvent(f"lookup {target.lookup} is not done by the ECR handler")
        account = target.account or self.accounts.own_account()
        region = target.region or self.region
        if not region:
            raise ConfigError("the event has no region and AWS_REGION is not set")
        if not target.repository:
            raise UnsupportedEvent("the ECR event names no repository")
        self.accounts.credentials_for(account)  # fails loudly now when the account cannot be read at all
        if target.lookup == "image_digest":
            if not target.tag:
                raise UnsupportedEvent("the ECR event has neither digest nor tag")
            digest = resolve_tag_digest(
                self.accounts.client("ecr", account, region),
                registry_id=account,
                repository=target.repository,
                tag=target.tag,
            )
            LOG.info("resolved %s:%s to %s", target.repository, target.tag, digest, extra={"digest": digest})
            return with_registry(target.resolved(digest=digest), account, region)  # image now pins the digest
        if target.registry is None or target.account is None or target.region is None:
            target = with_registry(target, account, region)
        return target

    def _scanner_env(self, target: ScanTarget) -> dict[str, str]:
        return self.accounts.child_env(target.account)

    # ------------------------------------------------------------------ entry point
    def handle(self, event: Any, context: Any = None) -> dict[str, list[dict[str, str]]]:
        if not self._partition_known:
            partition = partition_from_arn(getattr(context, "invoked_function_arn", None))
            if partition:
                self.accounts.partition = partition
            self._partition_known = True
        return self.loop.handle(event, context)


def cold_start(env: dict[str, str] | None = None) -> EcrHandler:
    settings = Settings.from_env(env)
    configure_logging(settings.log_level)
    try:
        return EcrHandler(settings)
    except QscanError as exc:
        LOG.critical("cold start failed: %s", exc.reason, extra={"error_type": type(exc).__name__})
        raise


HANDLER = cold_start()


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    """Lambda entry point: returns the SQS partial batch response."""
    return HANDLER.handle(event, context)
