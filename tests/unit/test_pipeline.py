"""qscan.pipeline: when a failed scan notifies (once per failed artifact), what ScanFailed says, no-cache mode.

The dedupe store is the real DynamoDB store on in-process moto; scanner, result store and publisher are
in-memory stand-ins for qscan's own interfaces (no outside system is imitated).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from qscan.attempts import Attempt
from qscan.dedupe.dynamodb import DynamoDBDedupeStore
from qscan.notify.message import Notification
from qscan.pipeline import Pipeline, ScanFailed
from qscan.results.model import ScanResult
from qscan.target import ScanTarget

from tests.harness.dynamodb import moto_dynamodb

TARGET = ScanTarget(
    kind="image",
    platform="ecr",
    registry="123456789012.dkr.ecr.us-east-1.amazonaws.com",
    repository="team/app",
    digest="sha256:" + "ab" * 32,
    account="123456789012",
    region="us-east-1",
)


class Scanner:
    name = "stand-in"

    def __init__(self, status: str = "success", exit_code: int | None = 0) -> None:
        self.status, self.exit_code, self.scans = status, exit_code, 0

    def scan(self, target: ScanTarget) -> ScanResult:
        self.scans += 1
        reason = None if self.status == "success" else f"exit {self.exit_code}"
        return ScanResult(
            target=target, backend="qscanner", status=self.status, exit_code=self.exit_code, reason=reason
        )  # type: ignore[arg-type]


class Results:
    def put_result(self, result: ScanResult) -> str:
        return f"s3://bucket/{result.scan_id}.json"

    def get_result(self, location: str) -> dict[str, Any]:
        return {}


class Publisher:
    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def publish(self, notification: Notification) -> str:
        self.sent.append(notification)
        return f"m-{len(self.sent)}"


@pytest.fixture
def store() -> Iterator[DynamoDBDedupeStore]:
    with moto_dynamodb() as client:
        dedupe = DynamoDBDedupeStore("dedupe", client=client)
        dedupe.create_table()
        yield dedupe


def pipeline(
    store: DynamoDBDedupeStore, scanner: Scanner, publisher: Publisher, ttl: float = 3600
) -> Pipeline:
    return Pipeline(store, scanner, Results(), publisher, "HIGH", lease_seconds=300, cache_ttl_seconds=ttl)


def test_a_failure_notifies_only_at_the_last_attempt_with_a_stable_id(store: DynamoDBDedupeStore) -> None:
    publisher = Publisher()
    p = pipeline(store, Scanner("failed", 1), publisher)
    for number in (1, 2, 3):
        with pytest.raises(ScanFailed) as failed:
            p.process(TARGET, "msg-1", Attempt(number, 3))
        assert (failed.value.final, failed.value.deterministic) == (number == 3, False)
        assert failed.value.notified is (number == 3)
        assert store.lookup(TARGET.dedupe_key or "") is None  # released every time
    (sent,) = publisher.sent
    assert (sent.kind, sent.body["attempts"], sent.body["max_attempts"]) == ("failure", 3, 3)
    # a redelivered final attempt (e.g. the dead letter could not be sent) repeats the same id
    with pytest.raises(ScanFailed):
        p.process(TARGET, "msg-1", Attempt(4, 3))
    assert publisher.sent[1].notification_id == sent.notification_id


def test_without_an_attempt_every_failure_is_final(store: DynamoDBDedupeStore) -> None:
    publisher = Publisher()
    with pytest.raises(ScanFailed) as failed:
        pipeline(store, Scanner("timeout", None), publisher).process(TARGET, "cli")
    assert failed.value.final and len(publisher.sent) == 1


@pytest.mark.parametrize(("fail_fast", "final"), [(True, True), (False, False)])
def test_a_deterministic_failure_ends_at_once_only_when_the_caller_dead_letters(
    store: DynamoDBDedupeStore, fail_fast: bool, final: bool
) -> None:
    publisher = Publisher()
    with pytest.raises(ScanFailed) as failed:
        pipeline(store, Scanner("failed", 2), publisher).process(
            TARGET, "m", Attempt(1, 3, fail_fast=fail_fast)
        )
    assert failed.value.deterministic and failed.value.final is final
    assert len(publisher.sent) == int(final)
    if final:
        assert publisher.sent[0].body["retryable"] is False


def test_cache_ttl_zero_scans_every_time_and_keeps_nothing(store: DynamoDBDedupeStore) -> None:
    scanner = Scanner("success", 0)
    p = pipeline(store, scanner, Publisher(), ttl=0)
    assert [p.process(TARGET, owner).disposition for owner in ("m-1", "m-2")] == ["scanned", "scanned"]
    assert scanner.scans == 2 and store.lookup(TARGET.dedupe_key or "") is None


def test_with_a_cache_the_second_event_is_a_cache_hit(store: DynamoDBDedupeStore) -> None:
    scanner = Scanner("success", 0)
    p = pipeline(store, scanner, Publisher(), ttl=3600)
    assert [p.process(TARGET, owner).disposition for owner in ("m-1", "m-2")] == ["scanned", "cached"]
    assert scanner.scans == 1
