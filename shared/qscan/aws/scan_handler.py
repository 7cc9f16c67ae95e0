"""What every AWS scanner handler creates once per cold start (ECR, Lambda, Fargate), and `cold_start`.

A handler module subclasses `AwsScanHandler` (through `qscan.aws.queue_handler.QueueScanHandler` for the
queue-fed scanners) and builds its singleton with `cold_start(HandlerClass)` at import time, like Lambda's init
phase. The constructor checks the settings (`QSCAN_CLOUD=aws`, `QSCAN_SCANNER_BACKEND` one of the class's
`backends`) and creates, in this order: the boto3 client factory (every client honours QSCAN_AWS_ENDPOINT_URL),
`Accounts` (own account, assumed spoke-role credentials that outlive a scan: scan timeout +
`CREDENTIAL_MARGIN_SECONDS`), the DynamoDB dedupe store, the S3 result store (`wrap_results` may decorate it),
the publisher, the EMF metrics (`service` dimension QSCAN_SERVICE_NAME, else the class's `service_name`, and
per account `service` + `account`; always-emitted names from `declared_metrics`), the Qualys secret, the scanner (the qscanner runner wrapped in
`CountingScanner`; for `qualys-api` the registry-sensor client `api` and its `QualysApiScanner`) and the
pipeline. A cold start that fails (bad settings, unreadable secret) raises: every invocation then fails and the
platform's retries and alarms make it visible.

qscanner runs with `HOME`, its work and cache directories under the temp directory (/tmp on Lambda, the only
writable place) and, for artifacts of another account, that account's assumed-role credentials in its
environment only (`Accounts.child_env`), and for an image in a registry other than ECR that registry's
credential from the named secret QSCAN_REGISTRY_CREDENTIALS_SECRET (`registry_credential`, read once per
execution environment; docs/registry.md). A rotated Qualys secret (cached 15 min by `qscan.secrets`) rebuilds
the runner (`current_pipeline`). The AWS partition of assumed-role ARNs comes from the function's own ARN
(`first_invocation`), else its region.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from qscan.aws.sessions import Accounts, ClientFactory, partition_from_arn
from qscan.aws.sqs_handler import CountingScanner
from qscan.config import Settings
from qscan.dedupe.dynamodb import DynamoDBDedupeStore
from qscan.errors import ConfigError, QscanError
from qscan.log import configure_logging
from qscan.metrics import DASHBOARD_METRICS, EmfMetrics
from qscan.notify import publisher_from_settings
from qscan.pipeline import Pipeline
from qscan.refs import aws_partition, classify_registry
from qscan.results.s3 import S3ResultStore
from qscan.results.store import ResultStore
from qscan.scanners import Scanner
from qscan.scanners.qscanner import runner_for
from qscan.secrets import QualysSecret, load_qualys_secret, rotated_secret, secrets_manager_text
from qscan.target import ScanTarget

if TYPE_CHECKING:
    from qscan.aws.context import LambdaContext

LOG = logging.getLogger(__name__)

CREDENTIAL_MARGIN_SECONDS = 120  # assumed credentials must outlive a scan by this much

H = TypeVar("H")  # a handler built from the settings (the scan handlers, the reconciler)


class AwsScanHandler:
    """Everything created once per cold start (see the module doc)."""

    service_name: ClassVar[str] = "qscan"  # default `service` metric dimension
    session_name: ClassVar[str] = "qscan-scanner"  # RoleSessionName of assumed spoke roles
    backends: ClassVar[tuple[str, ...]] = ("qscanner",)  # QSCAN_SCANNER_BACKEND values this handler runs

    def __init__(self, settings: Settings, *, region: str | None = None) -> None:
        name = type(self).__name__
        if settings.cloud != "aws":
            raise ConfigError(f"QSCAN_CLOUD must be aws for the {name}")
        if settings.scanner_backend not in self.backends:
            raise ConfigError(f"QSCAN_SCANNER_BACKEND must be {' or '.join(self.backends)} for the {name}")
        self.settings = settings
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        self.clients = ClientFactory(endpoint_url=settings.aws_endpoint_url, region=self.region)
        self.accounts = Accounts(
            self.clients,
            role_name=settings.spoke_role_name,
            external_id=settings.spoke_external_id,
            partition=aws_partition(self.region),
            session_name=self.session_name,
            min_validity_seconds=settings.scan_timeout_seconds + CREDENTIAL_MARGIN_SECONDS,
        )
        self.store = DynamoDBDedupeStore(
            settings.require("dedupe_table", "the dedupe store"), client=self.clients.client("dynamodb")
        )
        self.results = self.wrap_results(
            S3ResultStore(
                settings.require("results_bucket", "scan results"),
                client=self.clients.client("s3"),
                kms_key_id=settings.results_kms_key_id,
            )
        )
        self.publisher = publisher_from_settings(settings)
        self.metrics = EmfMetrics(
            settings.metrics_namespace,
            {"service": settings.service_name or self.service_name},
            declared=self.declared_metrics(),
        )
        self._registry_credentials: Any | None = None  # QSCAN_REGISTRY_CREDENTIALS_SECRET, read on first use
        self.secret = load_qualys_secret(settings, sm_client=self._secrets_client())
        self.api: Any | None = None  # the Qualys API client of the qualys-api backend
        self.scanner = CountingScanner(self._scanner(self.secret))
        self.pipeline = Pipeline(
            store=self.store,
            scanner=self.scanner,
            results=self.results,
            publisher=self.publisher,
            threshold=settings.severity_threshold,
            lease_seconds=self.lease_seconds(),
            cache_ttl_seconds=settings.cache_ttl_seconds,
        )
        self._context_seen = False

    # ------------------------------------------------------------------ what subclasses may change
    def declared_metrics(self) -> tuple[str, ...]:
        """EMF metrics emitted on every flush (as 0 when unused): the dashboards' names."""
        return DASHBOARD_METRICS

    def wrap_results(self, store: ResultStore) -> ResultStore:
        """The result store the pipeline persists to (a subclass may decorate it)."""
        return store

    def lease_seconds(self) -> int:
        """How long a claim is held before it frees itself: the scan timeout plus the margin."""
        return self.settings.lease_seconds

    def first_invocation(self, context: LambdaContext | None) -> None:
        """Called once, with the first invocation's Lambda context: the partition from the function's ARN."""
        partition = partition_from_arn(context.invoked_function_arn if context is not None else None)
        if partition:
            self.accounts.partition = partition

    def seen(self, context: LambdaContext | None) -> None:
        """Call at the start of every invocation: runs `first_invocation` once."""
        if not self._context_seen:
            self.first_invocation(context)
            self._context_seen = True

    # ------------------------------------------------------------------ scanner
    def _secrets_client(self) -> Any | None:
        return self.clients.client("secretsmanager") if self.settings.qualys_secret_arn else None

    def _scanner(self, secret: QualysSecret) -> Scanner:
        if self.settings.scanner_backend == "qualys-api":
            from qscan.scanners.qualys_api import QualysApiClient, QualysApiOptions  # noqa: PLC0415
            from qscan.scanners.sensor_flow import QualysApiScanner  # noqa: PLC0415 - this backend only

            self.api = QualysApiClient(
                QualysApiOptions(
                    pod=None if secret.gateway_url else secret.pod,
                    gateway_url=secret.gateway_url,
                    access_token=secret.access_token,
                    username=None if secret.access_token else secret.username,
                    password=None if secret.access_token else secret.password,
                    account_type=self.settings.qualys_account_type,
                )
            )
            return QualysApiScanner(self.api)
        # /tmp on Lambda: the only writable place
        base = os.path.join(tempfile.gettempdir(), "qscan")
        return runner_for(
            self.settings,
            secret,
            executable=self.settings.qscanner_path,
            base_dir=base,
            target_env=self.scanner_env,
        )

    def scanner_env(self, target: ScanTarget) -> dict[str, str]:
        """qscanner's extra environment for a target: the credentials of the account that owns it, and for an
        image in another registry than ECR that registry's entry of QSCAN_REGISTRY_CREDENTIALS_SECRET only."""
        from qscan.registry.credentials import qscanner_env  # noqa: PLC0415 - on first use

        env = self.accounts.child_env(target.account)
        env.update(qscanner_env(self.registry_credential(target.registry)))
        return env

    def registry_credential(self, registry: str | None) -> Any:
        """The named secret's `RegistryCredential` for a registry other than ECR (None: none, or anonymous).

        The secret (QSCAN_REGISTRY_CREDENTIALS_SECRET) is read through `qscan.secrets.secrets_manager_text` on
        first use and kept for the execution environment; ECR registries use the account's AWS credentials.
        """
        secret_id = self.settings.registry_credentials_secret
        if not secret_id or not registry or classify_registry(registry).kind == "ecr":
            return None
        if self._registry_credentials is None:
            from qscan.registry.credentials import SecretCredentials  # noqa: PLC0415 - on first use

            client = self.clients.client("secretsmanager")
            self._registry_credentials = SecretCredentials(
                lambda: secrets_manager_text(secret_id, client),
                f"Secrets Manager secret {secret_id}",
                ttl_seconds=math.inf,
            )
        return self._registry_credentials.credential_for(registry)

    def current_pipeline(self) -> Pipeline:
        """The pipeline, its scanner rebuilt when the Qualys secret has been rotated."""
        secret = rotated_secret(
            self.secret, lambda: load_qualys_secret(self.settings, sm_client=self._secrets_client())
        )
        if secret is not None:
            self.scanner.inner = self._scanner(secret)
            self.secret = secret
        return self.pipeline


def cold_start(factory: Callable[[Settings], H], env: dict[str, str] | None = None) -> H:
    """Settings from the environment, JSON logging, then the handler; a failure is logged and raised."""
    settings = Settings.from_env(env)
    configure_logging(settings.log_level)
    try:
        return factory(settings)
    except QscanError as exc:
        LOG.critical("cold start failed: %s", exc.reason, extra={"error_type": type(exc).__name__})
        raise
