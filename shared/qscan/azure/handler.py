"""The Azure Functions scanner (handlers/azure/function_app.py): its cold start and the one path of its triggers.

`AzureScanHandler(settings)` is built on the app's first invocation (a failure raises there, so every message
is retried, poisoned and alerted on, instead of an app whose functions never index). It checks
`QSCAN_CLOUD=azure` and `QSCAN_SCANNER_BACKEND=qscanner` and creates, once:

- the identity: `ManagedIdentityCredential(client_id=AZURE_CLIENT_ID)` when the app has a user-assigned
  identity (AZURE_CLIENT_ID set), else `DefaultAzureCredential` (a developer login);
- the Table dedupe store (QSCAN_STORAGE_TABLE_URL, else the blob endpoint with `.blob.` -> `.table.`;
  QSCAN_DEDUPE_TABLE_NAME), the Blob result store (QSCAN_STORAGE_ACCOUNT_URL, QSCAN_RESULTS_CONTAINER) and the
  Event Grid publisher (QSCAN_EVENTGRID_TOPIC_ENDPOINT), all through that identity;
- the Qualys secret from Key Vault (QSCAN_QUALYS_SECRET_URI, same identity; re-read every 15 minutes by
  `qscan.secrets`: a rotated token rebuilds the runner);
- the qscanner runner: the binary QSCANNER_PATH names is copied to `<temp>/qscan/bin/qscanner` and made
  executable (zip deploy drops the exec bit and the app root is read-only); HOME, work and cache directories
  under the temp directory; the image's registry credential in its environment for that scan only: ACR
  (`*.azurecr.io`) through `qscan.azure.acr.AcrCredentials`, every other registry from the Key Vault secret
  QSCAN_REGISTRY_CREDENTIALS_SECRET_URI when it is set (anonymously without an entry);
- the pipeline (`qscan.pipeline.Pipeline`);
- with QSCAN_AZURE_SCAN_MODE=aci-job, `qscan.azure.scan_job.ScanJobs` (ARM container groups, the job-check
  queue).

One path for both triggers (`handle`): each event (one queue message: an Event Grid event or a reconciler scan
request; one Activity Log record of an Event Hub body) is normalized (`qscan.events`), its workload read through ARM
(`qscan.azure.workloads.read_workload`), skipped when it is qscan's own (`is_own`: by tag), each container image
resolved to the digest that runs (`qscan.registry`, image indexes to QSCAN_IMAGE_PLATFORM) and handed to
`Pipeline.process` (claim in the Table, qscanner, Blob, notify, complete). The claim owner is the queue
message id (stable across its redeliveries), else the event's own id. A reconciler scan request
(`qscan.events.reconciler`, queued by `qscan.azure.reconciler`) names a complete aci/aca image target with its
digest: no ARM read, straight to resolution and the claim. In aci-job mode the image is claimed
for its job's name (`scan_job.job_name` of the message id and the dedupe key) and handed to a scan job
(counted as skipped "scan job started"); a job-check message on the scan queue (`scan_job.is_check`) is
checked instead (`handle_check`: counted scanned, failed, or skipped while the job runs or once it is gone).

Errors, per event:
- `UnsupportedEvent` / `InvalidEvent` of the event or its workload (not ours, malformed, a workload gone, qscan's
  own): skipped with the reason, counted, never raised;
- an image that cannot be resolved or scanned for good (`InvalidEvent`: not found, access denied, e.g. no
  AcrPull, a reference qscanner cannot take) and a deterministic scan failure (`ScanFailed.deterministic`:
  invalid parameter, artifact not pullable) are notified at once, logged and counted as failed, not raised: a
  retry cannot change them;
- anything else (`TransientError` incl. other scan failures, `ConfigError`, an unexpected error) is logged and
  counted as failed; after the invocation's other events ran, `InvocationFailed` is raised so the platform
  retries: the queue makes the message visible again and after maxDequeueCount the host moves it to
  `<queue>-poison` (alerted on); an Event Hub batch is re-run by the function's retry policy. A failed scan
  notifies once, at the last attempt (`qscan.attempts.Attempt`).

One `invocation accounting` line per invocation: events = scanned + deduplicated + cached + skipped + failed;
its `accounting.accounts` splits the events by the subscription of the workload they name (hub-spoke: a spoke
subscription's events reach the hub's queue), each subscription's buckets adding up to its events.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

from qscan.attempts import Attempt
from qscan.config import Settings
from qscan.errors import ConfigError, InvalidEvent, QscanError, TransientError, UnsupportedEvent
from qscan.events.batch import BatchItem
from qscan.log import correlation
from qscan.pipeline import Accounting, Outcome, Pipeline, ScanFailed
from qscan.redact import redact
from qscan.scanners.qscanner import QscannerRunner, runner_for
from qscan.secrets import QualysSecret, key_vault_text, load_qualys_secret, rotated_secret
from qscan.structs import field, replace, struct
from qscan.target import ScanTarget

if TYPE_CHECKING:
    from qscan.azure.scan_job import ScanJobs

LOG = logging.getLogger(__name__)

EventDisposition = Literal["failed", "scanned", "cached", "deduplicated", "skipped"]
_PRIORITY: tuple[EventDisposition, ...] = ("failed", "scanned", "cached", "deduplicated", "skipped")
STAGED_NAME = "qscanner"
MAX_QUEUE_BODY = 96 * 1024  # a Storage queue message is at most 64 KiB (base64 adds a third)


class InvocationFailed(TransientError):
    """Raised after an invocation in which an event failed for a reason a retry may fix."""


@struct(frozen=False)
class _Event:
    """The dispositions of one event's images, and why it was skipped or failed."""

    dispositions: list[EventDisposition] = field(default_factory=list)
    skip_reason: str | None = None
    failure: str | None = None  # set when a retry may help: the invocation raises
    account: str | None = None  # the subscription of the workload the event names (None: unreadable)

    def final(self) -> EventDisposition:
        for disposition in _PRIORITY:
            if disposition in self.dispositions:
                return disposition
        return "skipped"


def table_url(settings: Settings) -> str:
    """The table endpoint: QSCAN_STORAGE_TABLE_URL, else the blob endpoint's `.blob.` host part -> `.table.`."""
    return service_url(settings, "table")


def service_url(settings: Settings, service: Literal["table", "queue"]) -> str:
    """The account's `service` endpoint: QSCAN_STORAGE_<SERVICE>_URL, else the blob endpoint's `.blob.` host
    part -> `.<service>.`."""
    explicit: str | None = getattr(settings, f"storage_{service}_url")
    if explicit:
        return explicit
    blob = settings.require("storage_account_url", f"the storage account's {service} endpoint")
    scheme, _, rest = blob.partition("://")
    host, slash, path = rest.partition("/")
    if ".blob." not in host:
        raise ConfigError(
            f"QSCAN_STORAGE_{service.upper()}_URL is required when QSCAN_STORAGE_ACCOUNT_URL is not a *.blob.* "
            "endpoint"
        )
    return f"{scheme}://{host.replace('.blob.', f'.{service}.', 1)}{slash}{path}"


def scan_queue_client(settings: Settings, credential: Any) -> Any:
    """The scan queue's client (QSCAN_SCAN_QUEUE_NAME on the account's queue endpoint): job checks and the
    reconciler's requests go there."""
    from azure.storage.queue import QueueClient  # noqa: PLC0415 - aci-job mode and the reconciler only

    name = settings.require("scan_queue_name", "the scan queue")
    return QueueClient(service_url(settings, "queue"), name, credential=credential)


def stage_executable(path: str, directory: str) -> str:
    """Copy the executable `path` names (a name on PATH or a path) into `directory`, mode 0700; its new path.

    The copy is written beside its final name and renamed over it, so a concurrent worker process of the same
    instance never runs a half-written file."""
    source = shutil.which(path, mode=os.F_OK) if os.sep not in path else path
    if not source or not os.path.isfile(source):
        raise ConfigError("QSCANNER_PATH does not name the packaged qscanner binary")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    target = os.path.join(directory, STAGED_NAME)
    fd, partial = tempfile.mkstemp(prefix=".qscanner-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out, 1024 * 1024)
        os.chmod(partial, 0o700)
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(partial)
        raise
    return target


def decode_json(body: bytes, what: str) -> Any:
    """A UTF-8 JSON body, else `InvalidEvent` (never echoing it)."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidEvent(f"{what} is not UTF-8 JSON") from None


def decode_queue_body(body: bytes) -> Any:
    """A queue message body: JSON, else base64 of JSON (Event Grid's encoding; the docs have flip-flopped)."""
    if len(body) > MAX_QUEUE_BODY:
        raise InvalidEvent(f"queue message is larger than {MAX_QUEUE_BODY} bytes")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        pass
    try:
        decoded = base64.b64decode(body.strip(), validate=True)
    except (ValueError, binascii.Error):
        raise InvalidEvent("queue message is neither JSON nor base64") from None
    return decode_json(decoded, "base64 queue message")


def _attempt(retry_count: int, max_retry_count: int) -> Attempt:
    """Attempt `retry_count + 1` of `max_retry_count + 1`; deterministic failures end at once (`fail_fast`)."""
    of = max(1, max_retry_count + 1)
    return Attempt(number=min(max(1, retry_count + 1), of), of=of, fail_fast=True)


def identity_credential() -> Any:
    """The app's user-assigned managed identity (AZURE_CLIENT_ID), else `DefaultAzureCredential`."""
    client_id = (os.environ.get("AZURE_CLIENT_ID") or "").strip()
    if client_id:
        from azure.identity import ManagedIdentityCredential  # noqa: PLC0415 - once per cold start

        return ManagedIdentityCredential(client_id=client_id)
    from azure.identity import DefaultAzureCredential  # noqa: PLC0415

    return DefaultAzureCredential()


class AzureScanHandler:
    """Everything created once per cold start, and `handle` (see the module docstring).

    Keyword arguments stand in for Azure in tests: `credential` (any `get_token` credential),
    `storage_credential` (Blob and Table; default `credential`), `arm_base_url` (a fake ARM server),
    `read_workload` (a stub of `qscan.azure.workloads.read_workload`), `registry_credentials` (a
    `CredentialSource`; default ACR through `credential`), `insecure_registries` (loopback registries over
    http), `key_vault_client` (vault URL -> SecretClient), `temp_dir` (parent of the staged binary and the
    scanner's directories).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        credential: Any | None = None,
        storage_credential: Any | None = None,
        arm_base_url: str | None = None,
        read_workload: Callable[..., Any] | None = None,
        registry_credentials: Any | None = None,
        insecure_registries: frozenset[str] = frozenset(),
        key_vault_client: Callable[[str], Any] | None = None,
        temp_dir: str | None = None,
    ) -> None:
        if settings.cloud != "azure":
            raise ConfigError("QSCAN_CLOUD must be azure for the Azure Functions scanner")
        if settings.scanner_backend != "qscanner":
            raise ConfigError("QSCAN_SCANNER_BACKEND must be qscanner for the Azure Functions scanner")
        from qscan.dedupe.azure_table import AzureTableDedupeStore  # noqa: PLC0415 - cold start only
        from qscan.notify.eventgrid import EventGridPublisher  # noqa: PLC0415
        from qscan.registry.platform import parse_platform  # noqa: PLC0415
        from qscan.results.blob import BlobResultStore  # noqa: PLC0415

        self.settings = settings
        self.credential = credential if credential is not None else identity_credential()
        storage = storage_credential if storage_credential is not None else self.credential
        self.storage_credential = storage  # Blob, Table and Queue (the reconciler's scan requests)
        self.arm_base_url = arm_base_url
        self._read_workload = read_workload
        self._insecure = insecure_registries
        self._key_vault = key_vault_client
        self._registry_credentials = registry_credentials
        self._http: Any | None = None  # the distribution client, created on first use
        self.platform = parse_platform(settings.image_platform)
        self.base = os.path.join(temp_dir or tempfile.gettempdir(), "qscan")
        store = AzureTableDedupeStore.from_endpoint(
            table_url(settings), settings.require("dedupe_table_name", "the dedupe store"), storage
        )
        results = BlobResultStore.from_account_url(
            settings.require("storage_account_url", "scan results"),
            settings.require("results_container", "scan results"),
            storage,
        )
        publisher = EventGridPublisher(
            settings.require("eventgrid_topic_endpoint", "notifications"), credential=self.credential
        )
        self.executable = stage_executable(settings.qscanner_path, os.path.join(self.base, "bin"))
        self.secret = self._load_secret()
        self.pipeline = Pipeline(
            store=store,
            scanner=self._runner(self.secret),
            results=results,
            publisher=publisher,
            threshold=settings.severity_threshold,
            lease_seconds=settings.lease_seconds,
            cache_ttl_seconds=settings.cache_ttl_seconds,
        )
        self.jobs: ScanJobs | None = None
        if settings.azure_scan_mode == "aci-job":
            from qscan.azure.scan_job import ScanJobs  # noqa: PLC0415 - aci-job mode only

            self.jobs = ScanJobs(
                settings, credential=self.credential, storage_credential=storage, arm_base_url=arm_base_url
            )

    # ------------------------------------------------------------------ cold start pieces
    def _key_vault_client(self, vault_url: str) -> Any:
        if self._key_vault is not None:
            return self._key_vault(vault_url)
        from azure.keyvault.secrets import SecretClient  # noqa: PLC0415 - only with a Key Vault secret

        return SecretClient(vault_url=vault_url, credential=self.credential)

    def _load_secret(self) -> QualysSecret:
        return load_qualys_secret(self.settings, kv_client_factory=self._key_vault_client)

    def _runner(self, secret: QualysSecret) -> QscannerRunner:
        return runner_for(
            self.settings, secret, executable=self.executable, base_dir=self.base, target_env=self.scanner_env
        )

    def current_pipeline(self) -> Pipeline:
        """The pipeline, its runner rebuilt when the Qualys secret has been rotated."""
        secret = rotated_secret(self.secret, self._load_secret)
        if secret is not None:
            self.pipeline = replace(self.pipeline, scanner=self._runner(secret))
            self.secret = secret
        return self.pipeline

    # ------------------------------------------------------------------ registries
    def credentials(self) -> Any:
        """The `CredentialSource` of image registries (created on first use): ACR through the identity, then the
        entry of the Key Vault secret QSCAN_REGISTRY_CREDENTIALS_SECRET_URI (read through
        `qscan.secrets.key_vault_text`, cached 15 min) for any other registry."""
        if self._registry_credentials is None:
            from qscan.azure.acr import AcrCredentials  # noqa: PLC0415 - on first use
            from qscan.registry.credentials import ChainCredentials, SecretCredentials  # noqa: PLC0415

            sources: list[Any] = [AcrCredentials(self.credential)]
            uri = self.settings.registry_credentials_secret_uri
            if uri:
                sources.append(
                    SecretCredentials(
                        lambda: key_vault_text(uri, self._key_vault_client), f"Key Vault secret {uri}"
                    )
                )
            self._registry_credentials = ChainCredentials(sources)
        return self._registry_credentials

    def scanner_env(self, target: ScanTarget) -> dict[str, str]:
        """qscanner's extra environment for one scan: the credential of the image's registry only."""
        from qscan.registry.credentials import qscanner_env  # noqa: PLC0415 - on first use

        return qscanner_env(self.credentials().credential_for(target.registry) if target.registry else None)

    def resolve(self, target: ScanTarget) -> ScanTarget:
        """An image target with the digest that runs (an index resolved to QSCAN_IMAGE_PLATFORM)."""
        from qscan.registry.resolver import HttpManifestSource, resolve_target  # noqa: PLC0415 - on first use

        if self._http is None:
            from qscan.registry.client import DistributionClient  # noqa: PLC0415

            self._http = DistributionClient(credentials=self.credentials(), insecure_hosts=self._insecure)
        return resolve_target(target, HttpManifestSource(self._http), self.platform)

    def workload(self, resource_id: str) -> Any:
        if self._read_workload is None:
            from qscan.azure.workloads import read_workload  # noqa: PLC0415 - on first use

            self._read_workload = read_workload
        return self._read_workload(resource_id, credential=self.credential, base_url=self.arm_base_url)

    # ------------------------------------------------------------------ the triggers
    def handle_queue(
        self, body: bytes, *, message_id: str | None, dequeue_count: int | None, max_dequeue_count: int
    ) -> Accounting:
        """One scan-queue message (an Event Grid event, JSON or base64); the claim owner is the message id."""
        from qscan.azure.scan_job import is_check  # noqa: PLC0415
        from qscan.events import detect, normalize_batch  # noqa: PLC0415 - the Azure normalizers, on first use

        attempt = _attempt((dequeue_count or 1) - 1, max_dequeue_count - 1)
        try:
            event = decode_queue_body(body)
            if is_check(event):
                return self.handle_check(event, attempt)
            source = detect(event)
            if source not in ("eventgrid", "reconciler"):
                raise UnsupportedEvent(
                    f"the scan queue holds Event Grid events and scan requests, not {source}"
                )
        except (UnsupportedEvent, InvalidEvent) as exc:
            items = [BatchItem(index=0, record_id=None, error=exc)]
        else:
            items = normalize_batch(event)
        return self.handle(items, attempt, owner=message_id)

    def handle_check(self, message: Any, attempt: Attempt) -> Accounting:
        """A job-check message (`qscan.azure.scan_job.ScanJobs.check`); raises to have it redelivered."""
        from qscan.azure.scan_job import parse_check  # noqa: PLC0415

        accounting = Accounting(events=1)
        failure: str | None = None
        event = _Event()
        try:
            check = parse_check(message)
        except InvalidEvent as exc:
            event = _skipped(exc)
        else:
            with correlation(check.name):
                try:
                    if self.jobs is None:
                        raise ConfigError("a job check arrived but QSCAN_AZURE_SCAN_MODE is not aci-job")
                    state = self.jobs.check(check, self.current_pipeline())
                except Exception as exc:  # noqa: BLE001 - logged, counted, then raised: redelivered
                    self._failed(event, exc, None, attempt)
                    failure = event.failure
                else:
                    if state == "succeeded":
                        event.dispositions.append("scanned")
                    elif state == "failed":
                        event.dispositions.append("failed")
                    else:
                        event.skip_reason = f"scan job {state}"
        self._count(accounting, event)
        self._report(accounting, attempt)
        if failure is not None:
            raise InvocationFailed(f"job check failed: {failure}")
        return accounting

    def handle_event_hub(
        self, bodies: Iterable[bytes], *, retry_count: int, max_retry_count: int
    ) -> Accounting:
        """Event Hub events, each an Activity Log body `{"records": [...]}`: one event per record."""
        from qscan.events.activitylog import activity_log_items  # noqa: PLC0415 - on first use

        items: list[BatchItem] = []
        for body in bodies:
            try:
                items.extend(activity_log_items(decode_json(body, "Event Hub event")))
            except (UnsupportedEvent, InvalidEvent) as exc:
                items.append(BatchItem(index=len(items), record_id=None, error=exc))
        return self.handle(items, _attempt(retry_count, max_retry_count))

    # ------------------------------------------------------------------ the one path of both triggers
    def handle(self, items: Iterable[BatchItem], attempt: Attempt, *, owner: str | None = None) -> Accounting:
        """Run every event of one invocation; raises `InvocationFailed` afterwards when one should be retried."""
        accounting = Accounting()
        pipeline = self.current_pipeline()
        failures: list[str] = []
        for item in items:
            accounting.events += 1
            with correlation(owner or item.record_id):
                event = self._event(item, owner or item.record_id, pipeline, attempt, accounting)
                self._count(accounting, event)
                if event.failure is not None:
                    failures.append(event.failure)
        self._report(accounting, attempt)
        if failures:
            raise InvocationFailed(f"{len(failures)} event(s) failed, first: {failures[0]}")
        return accounting

    def _event(
        self,
        item: BatchItem,
        owner: str | None,
        pipeline: Pipeline,
        attempt: Attempt,
        accounting: Accounting,
    ) -> _Event:
        if item.error is not None:
            return _skipped(item.error)
        if not item.targets:
            LOG.info("skipped: the event names nothing to scan")
            return _Event(skip_reason="unsupported: the event names nothing to scan")
        event = _Event(account=item.targets[0].account)
        for resource in item.targets:
            try:
                images = self._images(resource)
            except (UnsupportedEvent, InvalidEvent) as exc:
                event.skip_reason = event.skip_reason or _skipped(exc).skip_reason
                continue
            except Exception as exc:  # noqa: BLE001 - isolates the event: logged, retried
                self._failed(event, exc, None, attempt)
                continue
            for image in images:
                accounting.targets += 1
                self._image(
                    image,
                    event,
                    owner=owner or image.event_id or "unknown",
                    pipeline=pipeline,
                    attempt=attempt,
                    accounting=accounting,
                )
        return event

    def _images(self, resource: ScanTarget) -> list[ScanTarget]:
        from qscan.azure.workloads import container_targets, is_own  # noqa: PLC0415 - on first use

        if resource.digest is not None:  # a reconciler request (validated by normalize_reconciler): complete
            if resource.platform not in ("aci", "aca"):
                raise UnsupportedEvent(f"a scan request for {resource.platform} does not belong on Azure")
            return [resource]
        if not resource.resource_id:
            raise InvalidEvent("the event names no Azure resource")
        workload = self.workload(resource.resource_id)
        if is_own(workload):
            raise UnsupportedEvent(f"{workload.name} is qscan's own resource (tagged)")
        images: list[ScanTarget] = container_targets(workload, resource.event_id)
        if not images:
            raise UnsupportedEvent(f"{workload.name} runs no containers")
        LOG.info("%s %s: %d image(s)", workload.kind, workload.name, len(images))
        return images

    def _image(
        self,
        image: ScanTarget,
        event: _Event,
        *,
        owner: str,
        pipeline: Pipeline,
        attempt: Attempt,
        accounting: Accounting,
    ) -> None:
        current = image
        try:
            current = self.resolve(image)
            if self.jobs is None:
                outcome = pipeline.process(current, owner=owner, attempt=attempt)
            else:
                held = self._start_job(current, owner, pipeline)
                if held is None:
                    event.skip_reason = event.skip_reason or "scan job started"
                    return
                outcome = held
        except UnsupportedEvent as exc:
            event.skip_reason = event.skip_reason or _skipped(exc, image.image).skip_reason
            return
        except InvalidEvent as exc:  # the image cannot be resolved or scanned: a retry cannot change it
            self._unscannable(current, exc.reason, event, owner=owner, attempt=attempt, accounting=accounting)
            return
        except Exception as exc:  # noqa: BLE001 - isolates the image: logged, retried
            accounting.notified += int(isinstance(exc, ScanFailed) and exc.notified)
            self._failed(event, exc, current, attempt)
            return
        event.dispositions.append(outcome.disposition)
        accounting.notified += int(outcome.notified)
        if outcome.result is not None:
            accounting.findings.update(outcome.result.counts.to_dict())

    def _start_job(self, target: ScanTarget, message_owner: str, pipeline: Pipeline) -> Outcome | None:
        """aci-job mode: claim the image for its job and start the job (None), or the claim's `Outcome` when
        another holds the image (cached, deduplicated)."""
        from qscan.azure.scan_job import job_name  # noqa: PLC0415

        assert self.jobs is not None and target.dedupe_key is not None
        name = job_name(message_owner, target.dedupe_key)
        held = pipeline.claim(target, name)
        if isinstance(held, Outcome):
            return held
        try:
            registry = self.credentials().credential_for(target.registry) if target.registry else None
        except BaseException:
            pipeline.release(target.dedupe_key, name)
            raise
        self.jobs.start(target, name, pipeline, self.secret, registry)
        return None

    def _unscannable(
        self,
        target: ScanTarget,
        reason: str,
        event: _Event,
        *,
        owner: str,
        attempt: Attempt,
        accounting: Accounting,
    ) -> None:
        """An image that cannot be resolved or scanned (not found, access denied, a bad reference): one failure
        notification, counted as failed, not retried. A notification that cannot be sent is retried."""
        from qscan.notify import notify  # noqa: PLC0415 - only on this path
        from qscan.results.model import ScanResult, utc_now  # noqa: PLC0415

        text = redact(reason)[:500]
        result = ScanResult(target=target, backend="qscanner", status="failed", reason=text)
        result.finished_at = utc_now()
        pipeline = self.pipeline
        try:
            published = notify(result, pipeline.threshold, pipeline.publisher, occurrence=owner)
        except Exception as exc:  # noqa: BLE001 - the alert must go out: retried
            self._failed(event, exc, target, attempt)
            return
        event.dispositions.append("failed")
        accounting.notified += int(published.notification is not None)
        LOG.error("image %s cannot be scanned, not retried: %s", target.image, text)

    def _failed(self, event: _Event, exc: Exception, target: ScanTarget | None, attempt: Attempt) -> None:
        """Log a failure; a permanent one is counted only, any other also makes the invocation raise."""
        key = target.dedupe_key if target is not None else None
        event.dispositions.append("failed")
        if isinstance(exc, ScanFailed):
            reason = redact(exc.reason)
            extra = {"dedupe_key": key, "status": exc.result.status, "notified": exc.notified}
            if exc.deterministic and exc.final:
                LOG.error("scan failed, not retried (deterministic): %s", reason, extra=extra)
                return
            then = "no retry follows" if exc.final else "retried"
            LOG.error("scan failed (%s), %s: %s", attempt.describe(), then, reason, extra=extra)
        elif isinstance(exc, ConfigError):
            reason = f"misconfiguration: {exc.reason}"
            LOG.error("%s (%s)", reason, attempt.describe(), extra={"dedupe_key": key})
        elif isinstance(exc, QscanError):
            reason = exc.reason
            LOG.error("transient failure (%s): %s", attempt.describe(), reason, extra={"dedupe_key": key})
        else:
            reason = f"unexpected error: {type(exc).__name__}"
            LOG.exception("unexpected error (%s)", attempt.describe(), extra={"dedupe_key": key})
        event.failure = event.failure or reason

    # ------------------------------------------------------------------ accounting
    @staticmethod
    def _count(accounting: Accounting, event: _Event) -> None:
        final = event.final()
        accounting.tally(event.account, final)
        if final == "skipped":
            accounting.skip(event.skip_reason or "unsupported: nothing to scan")
        elif final == "failed":
            accounting.failed += 1
        elif final == "scanned":
            accounting.scanned += 1
        elif final == "cached":
            accounting.cached += 1
        else:
            accounting.deduplicated += 1

    @staticmethod
    def _report(accounting: Accounting, attempt: Attempt) -> None:
        skipped = sum(accounting.skipped.values())
        closes = accounting.events == (
            accounting.scanned + accounting.deduplicated + accounting.cached + skipped + accounting.failed
        )
        LOG.info(
            "invocation accounting: %d event(s) = %d scanned + %d deduplicated + %d cached + %d skipped"
            " + %d failed",
            accounting.events,
            accounting.scanned,
            accounting.deduplicated,
            accounting.cached,
            skipped,
            accounting.failed,
            extra={"accounting": accounting.to_dict(), "closes": closes, "attempt": attempt.describe()},
        )
        if not closes:  # a bug in this loop, never expected: say so loudly
            LOG.error("invocation accounting does not close", extra={"accounting": accounting.to_dict()})


def _skipped(exc: UnsupportedEvent | InvalidEvent, image: str | None = None) -> _Event:
    kind = "unsupported" if isinstance(exc, UnsupportedEvent) else "invalid"
    reason = f"{kind}: {exc.reason}"
    where = f" ({image})" if image else ""
    if isinstance(exc, UnsupportedEvent):
        LOG.info("skipped%s: %s", where, exc.reason, extra={"skip_reason": reason})
    else:
        LOG.warning("skipped invalid%s: %s", where, exc.reason, extra={"skip_reason": reason})
    return _Event(skip_reason=reason)
