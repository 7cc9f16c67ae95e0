"""The reconcile core over the real DynamoDB dedupe store (in-process moto) with an injected clock."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from qscan.dedupe.base import check_key
from qscan.dedupe.dynamodb import DynamoDBDedupeStore
from qscan.errors import ConfigError, TransientError
from qscan.events.reconciler import normalize_reconciler
from qscan.reconcile.core import (
    MARKER_PREFIX,
    PAGE,
    Discovered,
    Limits,
    Reconciliation,
    Source,
    reconcile,
)
from qscan.reconcile.inventory import Inventory
from qscan.results.model import SeverityCounts
from qscan.target import ScanTarget

from tests.harness.dynamodb import moto_dynamodb

ACCOUNT = "123456789012"
T0 = 1_800_000_000.0
WEEK = 7 * 24 * 3600


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    with moto_dynamodb() as client:
        yield client


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(dynamodb: Any, clock: Clock) -> DynamoDBDedupeStore:
    table = DynamoDBDedupeStore("dedupe" + uuid.uuid4().hex[:10], client=dynamodb, clock=clock)
    table.create_table()
    return table


def image(n: int, workload: str = "team/app", platform: str = "ecr") -> Discovered:
    digest = "sha256:" + f"{n:064x}"
    ref = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/team/app@{digest}"
    target = ScanTarget(
        kind="image",
        platform=platform,
        image=ref,
        digest=digest,
        account=ACCOUNT,
        region="eu-west-1",  # type: ignore[arg-type]
    )
    return Discovered(target, platform, workload, "eu-west-1", ref)  # type: ignore[arg-type]


def source(name: str, pages: list[list[Discovered]]) -> Source:
    def items() -> Iterator[Discovered | object]:
        for page in pages:
            yield PAGE
            yield from page

    return Source(name, items)  # type: ignore[arg-type]


class Queue:
    def __init__(self, fail: type[Exception] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail = fail

    def __call__(self, item: Discovered, event: dict[str, Any]) -> None:
        if self.fail is not None:
            raise self.fail("queue down")
        self.events.append(event)

    def keys(self) -> list[str]:
        return [str(normalize_reconciler(event)[0].dedupe_key) for event in self.events]


def run(
    store: DynamoDBDedupeStore, clock: Clock, sources: list[Source], queue: Queue, **kwargs: Any
) -> Reconciliation:
    options: dict[str, Any] = {
        "cloud": "aws",
        "scope": ACCOUNT,
        "run_id": "run-" + uuid.uuid4().hex[:8],
        "limits": Limits(),
        "rescan_interval_seconds": WEEK,
        "request_window_seconds": 3600,
        "clock": clock,
    }
    options.update(kwargs)
    return reconcile(sources=sources, store=store, enqueue=queue, **options)


def complete(store: DynamoDBDedupeStore, item: Discovered, location: str = "s3://r/x.json") -> None:
    key = str(item.target.dedupe_key)
    assert store.claim(key, "scanner", 900).won
    assert store.complete(key, "scanner", "success", SeverityCounts(), location, WEEK)


def test_missing_are_requested_once_fresh_are_not(store: DynamoDBDedupeStore, clock: Clock) -> None:
    scanned = image(1)
    complete(store, scanned)
    queue = Queue()
    first = run(
        store,
        clock,
        [source("ecr", [[scanned, image(2)], [image(3)]]), source("ecs", [[image(2, "task/a", "ecs")]])],
        queue,
    )
    summary = first.summary
    assert (summary.listed, summary.unique, summary.fresh, summary.enqueued, summary.pages) == (4, 3, 1, 2, 3)
    assert summary.never_scanned == 2 and summary.truncated_by is None and first.inventory.complete
    assert queue.keys() == [image(2).target.dedupe_key, image(3).target.dedupe_key]
    assert {e["detail"]["reason"] for e in queue.events} == {"reconcile-missing"}
    by_key = {a.dedupe_key: a for a in first.inventory.artifacts}
    assert by_key[str(scanned.target.dedupe_key)].status == "fresh"
    assert by_key[str(scanned.target.dedupe_key)].last_scanned_at == T0
    assert by_key[str(scanned.target.dedupe_key)].result_location == "s3://r/x.json"
    two = by_key[str(image(2).target.dedupe_key)]
    assert (two.status, two.requested, two.workloads) == ("never-scanned", True, ("team/app", "task/a"))

    again = Queue()  # an overlapping run (another run id) within the request window
    second = run(store, clock, [source("ecr", [[scanned, image(2)], [image(3)]])], again)
    assert again.events == [] and second.summary.already_requested == 2 and second.summary.enqueued == 0


def test_window_passed_without_a_scan_requests_again(store: DynamoDBDedupeStore, clock: Clock) -> None:
    queue = Queue()
    run(store, clock, [source("ecr", [[image(1)]])], queue)
    clock.now += 3601
    run(store, clock, [source("ecr", [[image(1)]])], queue)
    assert len(queue.events) == 2


def test_expired_completion_is_a_rescan(store: DynamoDBDedupeStore, clock: Clock) -> None:
    item = image(1)
    complete(store, item)
    first = run(store, clock, [source("ecr", [[item]])], Queue())
    assert first.inventory.artifacts[0].status == "fresh"
    clock.now += WEEK + 1  # the cache TTL is the rescan interval
    queue = Queue()
    second = run(store, clock, [source("ecr", [[item]])], queue, previous=first.inventory)
    artifact = second.inventory.artifacts[0]
    assert (artifact.status, artifact.last_scanned_at, artifact.requested) == ("stale", T0, True)
    assert second.summary.stale == 1 and queue.events[0]["detail"]["reason"] == "reconcile-rescan"


def test_a_scan_in_progress_is_not_requested(store: DynamoDBDedupeStore, clock: Clock) -> None:
    item = image(1)
    assert store.claim(str(item.target.dedupe_key), "scanner", 900).won
    queue = Queue()
    result = run(store, clock, [source("ecr", [[item]])], queue)
    assert queue.events == [] and result.summary.already_requested == 1


def test_page_limit_stops_before_the_call_and_the_next_run_resumes(
    store: DynamoDBDedupeStore, clock: Clock
) -> None:
    calls: list[str] = []

    def counted(name: str, pages: list[list[Discovered]]) -> Source:
        def items() -> Iterator[Any]:
            for page in pages:
                yield PAGE
                calls.append(name)
                yield from page

        return Source(name, items)

    sources = [counted("a", [[image(1)], [image(2)]]), counted("b", [[image(3)]]), counted("c", [[image(4)]])]
    queue = Queue()
    first = run(store, clock, sources, queue, limits=Limits(max_pages=3))
    assert calls == ["a", "a", "b"]
    assert (first.summary.truncated_by, first.summary.resume_at) == ("pages", "c")
    assert not first.inventory.complete and len(first.inventory.artifacts) == 3
    second = run(store, clock, sources, queue, limits=Limits(max_pages=3), resume_at=first.summary.resume_at)
    assert calls[3:] == ["c", "a", "a"] and second.summary.truncated_by == "pages"
    assert sorted(queue.keys()) == sorted(str(image(n).target.dedupe_key) for n in (1, 2, 3, 4))


def test_request_limit_and_resume(store: DynamoDBDedupeStore, clock: Clock) -> None:
    sources = [source("ecr", [[image(n) for n in range(5)]])]
    queue = Queue()
    first = run(store, clock, sources, queue, limits=Limits(max_requests=2))
    assert first.summary.truncated_by == "requests" and first.summary.enqueued == 2 and len(queue.events) == 2
    assert not first.inventory.complete
    second = run(
        store, clock, sources, queue, limits=Limits(max_requests=2), resume_at=first.summary.resume_at
    )
    third = run(
        store, clock, sources, queue, limits=Limits(max_requests=2), resume_at=second.summary.resume_at
    )
    assert third.summary.truncated_by is None and third.inventory.complete
    assert sorted(queue.keys()) == sorted(str(image(n).target.dedupe_key) for n in range(5))


def test_time_limit(store: DynamoDBDedupeStore, clock: Clock) -> None:
    def slow() -> Iterator[Any]:
        for n in range(10):
            yield PAGE
            clock.now += 20
            yield image(n)

    result = run(store, clock, [Source("ecr", slow)], Queue(), limits=Limits(max_seconds=60))
    assert result.summary.truncated_by == "seconds" and result.summary.unique == 3


def test_failing_source_is_reported_and_the_run_goes_on(store: DynamoDBDedupeStore, clock: Clock) -> None:
    def broken() -> Iterator[Any]:
        yield PAGE
        yield image(1)
        raise ConfigError("ecs list_clusters: AccessDeniedException (HTTP 403)")

    queue = Queue()
    result = run(store, clock, [Source("ecs/eu-west-1", broken), source("ecr", [[image(2)]])], queue)
    assert result.summary.errors == ["ecs/eu-west-1: ecs list_clusters: AccessDeniedException (HTTP 403)"]
    assert len(queue.events) == 2 and not result.inventory.complete and result.summary.truncated_by is None


def test_failed_enqueue_releases_the_marker(store: DynamoDBDedupeStore, clock: Clock) -> None:
    item = image(1)
    result = run(store, clock, [source("ecr", [[item]])], Queue(fail=TransientError))
    assert result.summary.enqueued == 0 and result.summary.error_count == 1
    assert result.inventory.artifacts[0].requested is False
    queue = Queue()
    run(store, clock, [source("ecr", [[item]])], queue)  # not blocked by a marker for an unsent request
    assert len(queue.events) == 1


def test_marker_keys_fit_the_store_for_the_longest_keys() -> None:
    layers = tuple(f"arn:aws:lambda:eu-west-1:{ACCOUNT}:layer:{'l' * 60}{n}:1" for n in range(5))
    target = ScanTarget(
        kind="function",
        platform="lambda",
        function_arn=f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:" + "f" * 64,
        code_sha256="A" * 43 + "=",
        layers=layers,
    )
    assert check_key(MARKER_PREFIX + str(target.dedupe_key))


def test_inventory_document_round_trips(store: DynamoDBDedupeStore, clock: Clock) -> None:
    result = run(store, clock, [source("ecr", [[image(1), image(2)]])], Queue(), run_id="run-x")
    parsed = Inventory.from_json(result.inventory.to_json())
    assert parsed == result.inventory and parsed.generated_at == "2027-01-15T08:00:00Z"


@pytest.mark.parametrize(
    "limits", [{"max_pages": 0}, {"max_requests": -1}, {"max_seconds": 0}, {"max_pages": True}]
)
def test_limits_are_validated(limits: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Limits(**limits)
