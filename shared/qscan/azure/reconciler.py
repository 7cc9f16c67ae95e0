"""The Azure reconciler: one run of the Functions app's timer trigger (`reconcile` in handlers/azure/function_app.py).

Per subscription of QSCAN_RECONCILE_SUBSCRIPTION_IDS, in order, `run(...)`:

1. lists through ARM (`qscan.azure.inventory`) three sources: `containerGroups`, `containerApps` and `jobs` (each
   job followed by its executions of the last QSCAN_RECONCILE_LOOKBACK_DAYS days: an execution started with
   images of its own emits no write event); every container image (`qscan.azure.workloads.container_targets`,
   the handler's mapping) is resolved to the digest that runs by the handler's own resolution
   (`AzureScanHandler.resolve`: ACR through the identity, index -> QSCAN_IMAGE_PLATFORM), once per image
   reference and run;
2. hands them to the cloud-neutral core (`qscan.reconcile.core.reconcile_scope`: fresh -> nothing; missing or
   expired -> one scan request, idempotent across overlapping runs through the `reconcile#<key>` marker in the
   Table dedupe store; the previous snapshot and the source a limit stopped the last run in are read from the
   results container and the new ones written there: `inventory/azure/<subscription>/latest.json`, contract
   `qscan.inventory/1`, scope the subscription); its requests (`qscan.events.reconciler.scan_request_event`)
   go onto the scan queue as JSON text (host.json `messageEncoding` none: the queue handler decodes JSON, then
   base64, and takes a request's complete target straight to its claim);
3. logs one `reconcile summary` line per subscription with the structured fields `reconcile` (the core's
   summary plus `subscription` and `skipped`: listed entries left out, qscan's own resources among them) and
   `complete`: the app's metrics are its structured log lines (`qscan.log`'s JSON, the `message` of an
   Application Insights trace; modules/aci-aca's never-scanned alert parses it).

A run with errors (a listing denied or failing, an image that cannot be resolved) still writes every snapshot,
then `run_with` raises `ReconcileFailed`: the invocation fails, and the app's failed-invocations alert sees it.

Limits (QSCAN_RECONCILE_MAX_PAGES / _MAX_REQUESTS) hold per subscription; QSCAN_RECONCILE_MAX_SECONDS is one
budget for the whole run (a subscription the budget does not reach is logged and waits for the next run). An
image that cannot be resolved (gone from its registry, denied, throttled) is an `Unresolved` item: an error of
the run (the inventory is incomplete); the next run tries again.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from qscan.azure.inventory import ListedPage, Listing, listings
from qscan.azure.workloads import Workload, container_targets
from qscan.cloud_errors import azure_error
from qscan.config import Settings
from qscan.dedupe.base import Clock, DedupeStore, system_clock
from qscan.errors import ConfigError, QscanError, TransientError
from qscan.reconcile.core import (
    PAGE,
    Discovered,
    Limits,
    Listed,
    Reconciliation,
    Source,
    Unresolved,
    reconcile_scope,
)
from qscan.redact import redact
from qscan.results.store import DocumentStore
from qscan.structs import replace, struct
from qscan.target import ScanTarget

if TYPE_CHECKING:
    from qscan.azure.handler import AzureScanHandler

LOG = logging.getLogger(__name__)


class ReconcileFailed(TransientError):
    """Raised by `run_with` after a run in which a listing failed or an image could not be resolved."""


@struct
class ReconcileConfig:
    subscriptions: tuple[str, ...]
    lookback_seconds: int
    limits: Limits
    rescan_interval_seconds: int  # the cache TTL (QSCAN_CACHE_TTL_SECONDS)
    request_window_seconds: float


def config_from(settings: Settings) -> ReconcileConfig:
    """The run's configuration from the app settings (QSCAN_RECONCILE_*; the rescan interval is the cache TTL)."""
    subscriptions = settings.reconcile_subscription_ids
    if not subscriptions:
        raise ConfigError("QSCAN_RECONCILE_SUBSCRIPTION_IDS is required for the reconciler")
    return ReconcileConfig(
        subscriptions=subscriptions,
        lookback_seconds=settings.reconcile_lookback_days * 24 * 3600,
        limits=Limits(
            max_pages=settings.reconcile_max_pages,
            max_seconds=float(settings.reconcile_max_seconds),
            max_requests=settings.reconcile_max_requests,
        ),
        rescan_interval_seconds=settings.cache_ttl_seconds,
        request_window_seconds=float(settings.reconcile_request_window_seconds),
    )


def run_with(
    handler: AzureScanHandler, *, queue: Any | None = None, clock: Clock = system_clock
) -> list[Reconciliation]:
    """One run with the queue handler's pieces: its identity, Table dedupe store, Blob results, ARM endpoint and
    image resolution; requests go to the scan queue (`queue`: a `QueueClient`, default QSCAN_SCAN_QUEUE_NAME on
    the account's queue endpoint through the storage identity)."""
    results = handler.pipeline.results
    if not isinstance(results, DocumentStore):
        raise ConfigError("the reconciler needs a results store that keeps documents (Blob)")
    if queue is None:
        from qscan.azure.handler import scan_queue_client  # noqa: PLC0415 - on first use

        queue = scan_queue_client(handler.settings, handler.storage_credential)

    def send(text: str) -> None:
        from azure.core.exceptions import AzureError  # noqa: PLC0415 - on first use

        try:
            queue.send_message(text)
        except AzureError as exc:
            raise azure_error(exc, "queueing a scan request") or exc from None

    outcomes = run(
        config_from(handler.settings),
        credential=handler.credential,
        store=handler.pipeline.store,
        results=results,
        send=send,
        resolve=handler.resolve,
        arm_base_url=handler.arm_base_url,
        clock=clock,
    )
    failed = [outcome.summary for outcome in outcomes if outcome.summary.error_count]
    if failed:  # after every snapshot was written: the invocation fails, so the failures alert sees it
        first = failed[0]
        raise ReconcileFailed(
            f"{sum(s.error_count for s in failed)} error(s) in {len(failed)} subscription(s), first: "
            f"{first.errors[0] if first.errors else 'unknown'}"
        )
    return outcomes


def run(
    config: ReconcileConfig,
    *,
    credential: Any,
    store: DedupeStore,
    results: DocumentStore,
    send: Callable[[str], None],
    resolve: Callable[[ScanTarget], ScanTarget],
    arm_base_url: str | None = None,
    clock: Clock = system_clock,
    run_id: str | None = None,
) -> list[Reconciliation]:
    """One timer run over every configured subscription (see the module doc); the reconciliations it made."""
    run_id = run_id or f"azure-{uuid.uuid4().hex}"
    deadline = clock() + config.limits.max_seconds

    def enqueue(_item: Discovered, event: dict[str, Any]) -> None:
        send(json.dumps(event, separators=(",", ":")))

    done: list[Reconciliation] = []
    for subscription in config.subscriptions:
        left = deadline - clock()
        if left < 1:
            LOG.warning("reconcile: no time left for subscription %s: the next run lists it", subscription)
            continue
        skipped = [0]
        resolved: dict[str, ScanTarget | str] = {}
        found = listings(
            subscription,
            credential=credential,
            base_url=arm_base_url,
            lookback_seconds=config.lookback_seconds,
            now=clock,
        )
        outcome = reconcile_scope(
            results,
            cloud="azure",
            scope=subscription,
            sources=[Source(listing.name, _items(listing, resolve, resolved, skipped)) for listing in found],
            store=store,
            enqueue=enqueue,
            run_id=run_id,
            limits=replace(config.limits, max_seconds=left),
            rescan_interval_seconds=config.rescan_interval_seconds,
            request_window_seconds=config.request_window_seconds,
            clock=clock,
        )
        _log(outcome, subscription, skipped[0])
        done.append(outcome)
    return done


def _log(outcome: Reconciliation, subscription: str, skipped: int) -> None:
    summary = outcome.summary
    LOG.info(
        "reconcile summary: subscription %s: %d listed, %d unique, %d fresh, %d enqueued, %d error(s)%s",
        subscription,
        summary.listed,
        summary.unique,
        summary.fresh,
        summary.enqueued,
        summary.error_count,
        f", stopped by the {summary.truncated_by} limit" if summary.truncated_by else "",
        extra={
            "reconcile": {**summary.to_dict(), "subscription": subscription, "skipped": skipped},
            "complete": outcome.inventory.complete,
        },
    )


def _items(
    listing: Listing,
    resolve: Callable[[ScanTarget], ScanTarget],
    resolved: dict[str, ScanTarget | str],
    skipped: list[int],
) -> Callable[[], Iterator[Listed]]:
    def items() -> Iterator[Listed]:
        for page in listing.pages():
            if not isinstance(page, ListedPage):
                yield PAGE
                continue
            skipped[0] += len(page.skipped)
            for workload in page.workloads:
                yield from _discovered(workload, resolve, resolved)

    return items


def _discovered(
    workload: Workload, resolve: Callable[[ScanTarget], ScanTarget], resolved: dict[str, ScanTarget | str]
) -> Iterator[Listed]:
    """The workload's images, each resolved once per run (the failure reason of one that is not)."""
    for target in container_targets(workload, None):
        image = str(target.image)
        if image not in resolved:
            try:
                resolved[image] = resolve(target)
            except QscanError as exc:
                reason = redact(exc.reason)[:300]
                resolved[image] = reason
                yield Unresolved(what=f"{image} ({workload.resource_id})", reason=reason)
                continue
        found = resolved[image]
        if isinstance(found, ScanTarget):
            yield Discovered(
                target=found,
                platform=workload.platform,
                workload=workload.resource_id,
                region=workload.location.replace(" ", "").lower(),
                artifact=str(found.image),
            )
