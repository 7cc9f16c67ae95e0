"""The cloud-neutral reconcile decision: which listed artifacts need a scan request, each requested once.

Listers hand the core `Source`s: named, lazily listed parts of one scope (one service in one region, say). A
source's iterable yields `PAGE` before each list/describe call it is about to make, and a `Discovered` for every
artifact (a resolved `ScanTarget` with a dedupe key, its platform, the workload it runs in, its region), or an
`Unresolved` for an artifact it could not identify (an error of the run: the inventory is incomplete). For
every artifact seen for the first time in the run the core reads the dedupe store (`lookup(key)`):

* a live completion: `fresh`, nothing to do;
* a live claim: a scan is running: nothing to do (counted as already requested);
* nothing live (never scanned, or the completion expired): a scan request
  (`qscan.events.reconciler.scan_request_event`, reason `reconcile-rescan` when this scope's previous
  inventory knew a scan, else `reconcile-missing`) goes to `enqueue`.

The rescan interval IS the cache TTL (`QSCAN_CACHE_TTL_SECONDS`): a completion expires after it and counts as
absent, so the next run requests a rescan, and the pipeline's claim then wins (no cache bypass).

Idempotent across overlapping runs: before enqueueing, the core claims the marker `reconcile#<dedupe key>` for
its run id with a lease of `request_window_seconds` (`QSCAN_RECONCILE_REQUEST_WINDOW_SECONDS`): only a `won`
marker enqueues; a marker held by another run is `already_requested`. Choose the window longer than a request
takes to be scanned (queue backlog included) and shorter than the cache TTL; after it, an artifact whose scan
never completed is requested again. Marker keys are at most 10 bytes longer than dedupe keys, which
`compute_dedupe_key` bounds far below the stores' 1,024-byte limit. An enqueue that fails releases its marker
(the next run tries again) and is reported in `errors`.

Limits (`Limits`): `max_pages` list/describe calls, `max_seconds` of wall time, `max_requests` requests
enqueued (and, always, `MAX_ARTIFACTS` unique artifacts: the snapshot's bound, `truncated_by` `artifacts`). A
limit stops the run before the call, the artifact or the request that would exceed it:
`truncated_by` names it, the inventory holds what the run saw (`complete=false`), and `resume_at` names the
source the run stopped in: the next run starts there (sources rotate; `reconcile_scope` keeps it in the scope's
`state.json` beside the snapshot, and reads the previous snapshot), so a bounded run always makes progress
as long as one source fits in the limits. A source that raises a `QscanError` (a region or service failing,
throttled beyond the clients' retries, denied) is reported in `errors` and the run goes on with the next one;
the inventory is then incomplete too. Dedupe-store errors end the run (nothing can be decided without it).
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final, Literal

from qscan.dedupe.base import Clock, DedupeStore, check_seconds, system_clock
from qscan.errors import QscanError
from qscan.events.reconciler import scan_request_event
from qscan.reconcile.inventory import (
    MAX_ARTIFACTS,
    MAX_WORKLOADS,
    Cloud,
    InvalidInventory,
    Inventory,
    InventoryArtifact,
    Status,
    inventory_key,
)
from qscan.results.store import DocumentStore
from qscan.structs import field, struct
from qscan.target import Platform, ScanTarget

LOG = logging.getLogger(__name__)
MARKER_PREFIX = "reconcile#"
REASON_MISSING = "reconcile-missing"
REASON_RESCAN = "reconcile-rescan"
Limit = Literal["pages", "seconds", "requests", "artifacts"]
MAX_ERRORS = 50  # errors kept in a summary (the count is exact)
MAX_SOURCE_NAME = 128
STATE_NAME = "state.json"


class Page:
    """The marker a source yields before each list/describe call (see `PAGE`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "PAGE"


PAGE: Final = Page()


@struct
class Discovered:
    """One listed artifact: a target with a dedupe key, where it runs, and its display reference."""

    target: ScanTarget
    platform: Platform
    workload: str
    region: str
    artifact: str  # image reference with digest, or the function ARN

    def __post_init__(self) -> None:
        if not self.target.dedupe_key:
            raise ValueError("a discovered target must be resolved (have a dedupe key)")


@struct
class Unresolved:
    """An artifact a source saw but could not identify (its image is gone, a function vanished): an error."""

    what: str
    reason: str


Listed = Discovered | Unresolved | Page  # what a source yields


@struct
class Source:
    """A named, lazily listed part of a scope (names are stable across runs: `resume_at` refers to them)."""

    name: str
    items: Callable[[], Iterable[Listed]]

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > MAX_SOURCE_NAME:
            raise ValueError(f"a source name has 1 to {MAX_SOURCE_NAME} characters")


@struct
class Limits:
    max_pages: int = 1000
    max_seconds: float = 600.0
    max_requests: int = 500

    def __post_init__(self) -> None:
        for name in ("max_pages", "max_requests"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1")
        check_seconds("max_seconds", self.max_seconds, 24 * 3600)


Enqueue = Callable[[Discovered, dict[str, Any]], None]


@struct(frozen=False)
class Summary:
    """What one run did (logged as the run's structured summary; counts feed the metrics)."""

    run_id: str
    listed: int = 0
    unique: int = 0
    fresh: int = 0
    stale: int = 0
    never_scanned: int = 0
    enqueued: int = 0
    already_requested: int = 0
    pages: int = 0
    truncated_by: Limit | None = None
    resume_at: str | None = None
    error_count: int = 0
    errors: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message[:300])

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "listed": self.listed,
            "unique": self.unique,
            "fresh": self.fresh,
            "stale": self.stale,
            "never_scanned": self.never_scanned,
            "enqueued": self.enqueued,
            "already_requested": self.already_requested,
            "pages": self.pages,
            "truncated_by": self.truncated_by,
            "resume_at": self.resume_at,
            "error_count": self.error_count,
            "errors": list(self.errors),
        }


@struct(frozen=False)
class _Seen:
    item: Discovered
    workloads: list[str]
    status: Status
    last_scanned_at: float | None
    result_location: str | None
    requested: bool


class _Stop(Exception):
    def __init__(self, limit: Limit) -> None:
        super().__init__(limit)
        self.limit: Limit = limit


@struct
class Reconciliation:
    summary: Summary
    inventory: Inventory


def reconcile(
    *,
    cloud: Cloud,
    scope: str,
    sources: Sequence[Source],
    store: DedupeStore,
    enqueue: Enqueue,
    run_id: str,
    limits: Limits,
    rescan_interval_seconds: int,
    request_window_seconds: float,
    previous: Inventory | None = None,
    resume_at: str | None = None,
    clock: Clock = system_clock,
) -> Reconciliation:
    """List `sources` (from `resume_at`, rotating), request scans of what is not covered; see the module doc."""
    window = check_seconds("request_window_seconds", request_window_seconds, 7 * 24 * 3600)
    run = _Run(store, enqueue, run_id, limits, window, previous, clock)
    names = [source.name for source in sources]
    start = names.index(resume_at) if resume_at in names else 0
    for source in [*sources[start:], *sources[:start]]:
        try:
            run.list(source)
        except _Stop as stop:
            run.summary.truncated_by = stop.limit
            run.summary.resume_at = source.name
            break
        except QscanError as exc:
            run.summary.error(f"{source.name}: {exc}")
            LOG.warning("reconcile source failed", extra={"source": source.name, "error": str(exc)[:300]})
    summary = run.summary
    inventory = Inventory(
        cloud=cloud,
        scope=scope,
        generated_at=_iso(clock()),
        run_id=run_id,
        complete=summary.truncated_by is None and summary.error_count == 0,
        rescan_interval_seconds=rescan_interval_seconds,
        artifacts=tuple(
            InventoryArtifact(
                platform=seen.item.platform,
                dedupe_key=key,
                artifact=seen.item.artifact,
                workloads=tuple(seen.workloads),
                region=seen.item.region,
                last_scanned_at=seen.last_scanned_at,
                status=seen.status,
                result_location=seen.result_location,
                requested=seen.requested,
            )
            for key, seen in run.seen.items()
        ),
    )
    return Reconciliation(summary, inventory)


class _Run:
    def __init__(  # noqa: PLR0917 - private: the inputs of `reconcile`
        self,
        store: DedupeStore,
        enqueue: Enqueue,
        run_id: str,
        limits: Limits,
        window: float,
        previous: Inventory | None,
        clock: Clock,
    ) -> None:
        self.store = store
        self.enqueue = enqueue
        self.limits = limits
        self.window = window
        self.clock = clock
        self.started = clock()
        self.summary = Summary(run_id)
        self.seen: dict[str, _Seen] = {}
        self.known: dict[str, InventoryArtifact] = (
            {item.dedupe_key: item for item in previous.artifacts} if previous is not None else {}
        )

    def list(self, source: Source) -> None:
        items: Iterator[Listed] = iter(source.items())
        try:
            while True:
                self._check_time()
                try:
                    item = next(items)
                except StopIteration:
                    return
                if isinstance(item, Page):
                    if self.summary.pages >= self.limits.max_pages:
                        raise _Stop("pages")
                    self.summary.pages += 1
                elif isinstance(item, Unresolved):
                    self.summary.error(f"{source.name}: {item.what}: {item.reason}")
                else:
                    self._decide(item)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def _check_time(self) -> None:
        if self.clock() - self.started >= self.limits.max_seconds:
            raise _Stop("seconds")

    def _decide(self, item: Discovered) -> None:
        key = str(item.target.dedupe_key)
        self.summary.listed += 1
        seen = self.seen.get(key)
        if seen is not None:
            if item.workload not in seen.workloads and len(seen.workloads) < MAX_WORKLOADS:
                seen.workloads.append(item.workload)
            return
        if len(self.seen) >= MAX_ARTIFACTS:
            raise _Stop("artifacts")
        record = self.store.lookup(key)
        known = self.known.get(key)
        last = known.last_scanned_at if known is not None else None
        location = known.result_location if known is not None else None
        if record is not None and record.state == "complete":
            seen = _Seen(item, [item.workload], "fresh", record.completed_at, record.result_location, False)
            self.summary.fresh += 1
        else:
            seen = _Seen(
                item, [item.workload], "stale" if last is not None else "never-scanned", last, location, False
            )
            if record is not None:  # a scan holds the key right now
                self.summary.already_requested += 1
            else:
                seen.requested = self._request(
                    item, key, REASON_RESCAN if last is not None else REASON_MISSING
                )
            if seen.status == "stale":
                self.summary.stale += 1
            else:
                self.summary.never_scanned += 1
        self.seen[key] = seen
        self.summary.unique += 1

    def _request(self, item: Discovered, key: str, reason: str) -> bool:
        if self.summary.enqueued >= self.limits.max_requests:
            raise _Stop("requests")
        marker = MARKER_PREFIX + key
        if not self.store.claim(marker, self.summary.run_id, self.window).won:
            self.summary.already_requested += 1
            return False
        event = scan_request_event(item.target, reason=reason)  # the target carries account and region
        try:
            self.enqueue(item, event)
        except QscanError as exc:
            self.store.release(marker, self.summary.run_id)
            self.summary.error(f"enqueue {item.platform} {key}: {exc}")
            LOG.warning("reconcile enqueue failed", extra={"dedupe_key": key, "error": str(exc)[:300]})
            return False
        self.summary.enqueued += 1
        return True


def state_key(cloud: str, scope: str) -> str:
    """Where a scope's run state (`{"run_id", "resume_at"}`) lives: beside its snapshot."""
    return inventory_key(cloud, scope).rsplit("/", 1)[0] + "/" + STATE_NAME


def reconcile_scope(results: DocumentStore, *, cloud: Cloud, scope: str, **options: Any) -> Reconciliation:
    """`reconcile` one scope with its stored state: the previous snapshot (for `stale` and the rescan reason)
    and the source the last run stopped in are read from `results`; the new snapshot and state are written
    there. An unreadable previous snapshot or state is ignored with a warning (the run still decides right:
    the dedupe store is the truth; only `stale` would read `never-scanned`)."""
    outcome = reconcile(
        cloud=cloud,
        scope=scope,
        previous=_previous(results, cloud, scope),
        resume_at=_resume_at(results, cloud, scope),
        **options,
    )
    results.put_document(outcome.inventory.key, outcome.inventory.to_json())
    state = {"run_id": outcome.summary.run_id, "resume_at": outcome.summary.resume_at}
    results.put_document(state_key(cloud, scope), json.dumps(state, sort_keys=True).encode())
    return outcome


def _previous(results: DocumentStore, cloud: str, scope: str) -> Inventory | None:
    body = results.get_document(inventory_key(cloud, scope))
    if body is None:
        return None
    try:
        return Inventory.from_json(body)
    except InvalidInventory as exc:
        LOG.warning("reconcile: the previous inventory of %s is unreadable (%s): ignored", scope, exc)
        return None


def _resume_at(results: DocumentStore, cloud: str, scope: str) -> str | None:
    body = results.get_document(state_key(cloud, scope))
    try:
        state = json.loads(body) if body is not None else None
    except (ValueError, UnicodeDecodeError):
        state = None
    value = state.get("resume_at") if isinstance(state, dict) else None
    return value if isinstance(value, str) and len(value) <= MAX_SOURCE_NAME else None


def _iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
