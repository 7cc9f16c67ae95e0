"""One dedupe contract, two backends: DynamoDB (moto in-process) and Azure Table (Azurite).

Every test runs on both backends with an injected clock; each test gets a fresh table.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from qscan.dedupe.azure_table import AzureTableDedupeStore, entity_keys
from qscan.dedupe.base import Claim, DedupeStore
from qscan.dedupe.dynamodb import DynamoDBDedupeStore
from qscan.errors import InvalidEvent
from qscan.results.model import SeverityCounts

from tests.harness.azurite import Azurite
from tests.harness.dynamodb import moto_dynamodb

pytestmark = pytest.mark.integration

DIGEST = "sha256:" + "ab" * 32
IMAGE_KEY = f"image#{DIGEST}"
LAMBDA_KEY = (
    "lambda#arn:aws:lambda:eu-west-1:123456789012:function:app#Zm9vYmFy/+==#arn:aws:lambda:x:1:layer:l:3"
)
COUNTS = SeverityCounts(critical=1, high=2, medium=3, low=4, info=5)
T0 = 1_800_000_000.0


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


StoreFactory = Callable[[], tuple[DedupeStore, FakeClock]]


@pytest.fixture(scope="module")
def moto_client() -> Iterator[Any]:
    with moto_dynamodb() as client:
        yield client


@pytest.fixture(params=["dynamodb", "azure_table"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_store(backend: str, request: pytest.FixtureRequest) -> StoreFactory:
    """A factory of stores on one fresh table (several stores = several processes sharing the table)."""
    name = "dedupe" + uuid.uuid4().hex[:10]
    clock = FakeClock()
    if backend == "dynamodb":
        client = request.getfixturevalue("moto_client")
        DynamoDBDedupeStore(name, client=client, clock=clock).create_table()

        def dynamo() -> tuple[DedupeStore, FakeClock]:
            return DynamoDBDedupeStore(name, client=client, clock=clock), clock

        return dynamo
    azurite: Azurite = request.getfixturevalue("azurite")
    service = azurite.table_service()
    AzureTableDedupeStore(service.get_table_client(name), clock=clock).create_table()

    def table() -> tuple[DedupeStore, FakeClock]:
        return AzureTableDedupeStore(service.get_table_client(name), clock=clock), clock

    return table


@pytest.fixture
def store(make_store: StoreFactory) -> tuple[DedupeStore, FakeClock]:
    return make_store()


@pytest.mark.slow
def test_8_threads_x_1000_claims_over_100_keys_have_exactly_100_winners(make_store: StoreFactory) -> None:
    store, _ = make_store()
    keys = [f"image#sha256:{i:064x}" for i in range(100)]
    winners: dict[str, list[str]] = {k: [] for k in keys}
    outcomes: dict[str, int] = {"won": 0, "claimed": 0, "cached": 0}
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker(thread: int) -> None:
        start.wait()
        for n in range(1000):
            key = keys[(n * 7 + thread * 13) % 100]  # every thread walks all keys, in different orders
            owner = f"t{thread}-c{n}"  # one owner per claim, like one invocation per event
            claim = store.claim(key, owner, 300)
            with lock:
                outcomes[claim.outcome] += 1
                if claim.won:
                    winners[key].append(owner)
                else:
                    assert claim.record.owner != owner

    began = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))
    elapsed = time.perf_counter() - began
    print(f"8x1000 claims on {type(store).__name__}: {elapsed:.1f}s")

    assert outcomes == {"won": 100, "claimed": 7900, "cached": 0}
    assert all(len(owners) == 1 for owners in winners.values()), winners
    for key, owners in winners.items():
        record = store.lookup(key)
        assert record is not None and record.state == "claimed" and record.owner == owners[0]


def test_expired_lease_can_be_taken_over_by_exactly_one_claimant(make_store: StoreFactory) -> None:
    store, clock = make_store()
    keys = [f"image#sha256:{i:064x}" for i in range(20)]
    for key in keys:
        assert store.claim(key, "crashed", 60).won
    clock.advance(59)
    assert all(store.claim(k, "early", 60).outcome == "claimed" for k in keys)
    clock.advance(1)  # the lease ends now: the record is stale
    wins: list[tuple[str, str]] = []
    lock = threading.Lock()

    def worker(thread: int) -> None:
        for n, key in enumerate(keys * 3):
            claim = store.claim(key, f"t{thread}-{n}", 60)
            if claim.won:
                with lock:
                    wins.append((key, f"t{thread}-{n}"))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(worker, range(4)))
    assert sorted(k for k, _ in wins) == sorted(keys)  # exactly one takeover per key
    owner_of = dict(wins)
    for key in keys:
        record = store.lookup(key)
        assert record is not None and record.owner == owner_of[key]
        assert record.expires_at == int(T0) + 60 + 60
    # The crashed owner can neither release nor complete what was taken over.
    assert store.release(keys[0], "crashed") is False
    assert store.complete(keys[0], "crashed", "success", COUNTS, "s3://b/k", 3600) is False
    assert store.lookup(keys[0]).owner == owner_of[keys[0]]  # type: ignore[union-attr]


def test_live_claim_blocks_others_and_reports_the_holder(store: tuple[DedupeStore, FakeClock]) -> None:
    s, _ = store
    first = s.claim(IMAGE_KEY, "a", 120)
    second = s.claim(IMAGE_KEY, "b", 120)
    assert first.won and first.record.owner == "a"
    assert second.outcome == "claimed" and not second.won and not second.cached
    assert second.record.owner == "a" and second.record.expires_at == int(T0) + 120


def test_own_live_claim_is_won_again_and_renews_the_lease(store: tuple[DedupeStore, FakeClock]) -> None:
    s, clock = store
    assert s.claim(IMAGE_KEY, "msg-1", 100).won
    clock.advance(90)
    again = s.claim(IMAGE_KEY, "msg-1", 100)
    assert again.won and again.record.expires_at == int(T0) + 190
    clock.advance(20)  # past the first lease, inside the renewed one
    assert s.claim(IMAGE_KEY, "other", 100).outcome == "claimed"


def test_released_claim_can_be_retried_at_once(store: tuple[DedupeStore, FakeClock]) -> None:
    s, _ = store
    assert s.claim(LAMBDA_KEY, "a", 600).won
    assert s.release(LAMBDA_KEY, "b") is False  # only the owner may release
    assert s.claim(LAMBDA_KEY, "b", 600).outcome == "claimed"
    assert s.release(LAMBDA_KEY, "a") is True
    assert s.lookup(LAMBDA_KEY) is None
    retry = s.claim(LAMBDA_KEY, "b", 600)
    assert retry.won
    assert s.release(LAMBDA_KEY, "a") is False  # a stale release never drops the new claim
    assert s.lookup(LAMBDA_KEY).owner == "b"  # type: ignore[union-attr]


def test_complete_is_a_cache_hit_until_the_ttl_passes(store: tuple[DedupeStore, FakeClock]) -> None:
    s, clock = store
    assert s.claim(IMAGE_KEY, "a", 600).won
    clock.advance(30)
    assert s.complete(IMAGE_KEY, "a", "policy_deny", COUNTS, "s3://bucket/results/x.json", 3600) is True
    clock.advance(3599)
    hit = s.claim(IMAGE_KEY, "b", 600)
    assert hit.cached and hit.outcome == "cached"
    assert (hit.status, hit.counts, hit.result_location) == (
        "policy_deny",
        COUNTS,
        "s3://bucket/results/x.json",
    )
    assert hit.record.state == "complete" and hit.record.completed_at == T0 + 30
    assert hit.record.claimed_at == T0
    assert s.claim(IMAGE_KEY, "a", 600).cached  # the former owner gets the cache hit too
    assert s.release(IMAGE_KEY, "a") is False  # a completion is not a claim: nothing to release
    assert s.lookup(IMAGE_KEY) is not None
    clock.advance(1)  # TTL over: expired records count as absent
    assert s.lookup(IMAGE_KEY) is None
    again = s.claim(IMAGE_KEY, "c", 600)
    assert again.won and again.record.status is None and again.record.counts is None


def test_complete_without_location_and_by_a_stranger(store: tuple[DedupeStore, FakeClock]) -> None:
    s, _ = store
    assert s.complete(IMAGE_KEY, "a", "success", COUNTS, None, 60) is False  # nothing claimed
    assert s.lookup(IMAGE_KEY) is None
    assert s.claim(IMAGE_KEY, "a", 600).won
    assert s.complete(IMAGE_KEY, "b", "success", COUNTS, None, 60) is False
    assert s.complete(IMAGE_KEY, "a", "success", SeverityCounts(), None, 60) is True
    record = s.lookup(IMAGE_KEY)
    assert record is not None and record.result_location is None and record.counts == SeverityCounts()
    assert s.complete(IMAGE_KEY, "a", "success", COUNTS, None, 60) is False  # already complete


@pytest.mark.parametrize("status", ["partial", "failed", "timeout", "bogus"])
def test_incomplete_statuses_are_never_cached(store: tuple[DedupeStore, FakeClock], status: str) -> None:
    s, _ = store
    assert s.claim(IMAGE_KEY, "a", 600).won
    with pytest.raises(ValueError, match="release the claim"):
        s.complete(IMAGE_KEY, "a", status, COUNTS, None, 3600)
    record = s.lookup(IMAGE_KEY)
    assert record is not None and record.state == "claimed"


@pytest.mark.parametrize(
    "key",
    [
        "image#sha256:" + "0" * 64,
        "a/b\\c#d?e",
        "ctrl\x00\x01\x1f\x7fkey",
        "ünïcödé#🙂",
        "x" * 1000,
    ],
)
def test_arbitrary_keys_are_stored_and_kept_apart(store: tuple[DedupeStore, FakeClock], key: str) -> None:
    s, _ = store
    claim = s.claim(key, "a", 60)
    assert claim.won and claim.key == key
    assert s.claim(key + "2", "b", 60).won  # a different key is independent
    record = s.lookup(key)
    assert record is not None and record.key == key and record.owner == "a"


def test_invalid_arguments_are_rejected(store: tuple[DedupeStore, FakeClock]) -> None:
    s, _ = store
    with pytest.raises(InvalidEvent):
        s.claim("", "a", 60)
    with pytest.raises(InvalidEvent):
        s.claim("k" * 2000, "a", 60)
    with pytest.raises(ValueError, match="owner"):
        s.claim(IMAGE_KEY, "", 60)
    for lease in (0, -1, float("nan"), float("inf"), True):
        with pytest.raises(ValueError, match="lease_seconds"):
            s.claim(IMAGE_KEY, "a", lease)
    with pytest.raises(ValueError, match="cache_ttl_seconds"):
        s.complete(IMAGE_KEY, "a", "success", COUNTS, None, 0)


def test_azure_entities_use_safe_hashed_keys_and_expired_records_are_purged(azurite: Azurite) -> None:
    clock = FakeClock()
    table = azurite.table_service().get_table_client("dedupe" + uuid.uuid4().hex[:10])
    s = AzureTableDedupeStore(table, clock=clock)
    s.create_table()
    assert s.claim(IMAGE_KEY, "a", 60).won
    assert s.claim(LAMBDA_KEY, "a", 600).won
    partition, row = entity_keys(IMAGE_KEY)
    entity = table.get_entity(partition, row)
    assert entity["dedupe_key"] == IMAGE_KEY and len(row) == 64 and set(row) <= set("0123456789abcdef")
    assert partition == row[:2]
    clock.advance(61)
    assert s.purge_expired() == 1  # only the expired image claim
    assert [e["dedupe_key"] for e in table.list_entities()] == [LAMBDA_KEY]
    assert s.claim(IMAGE_KEY, "b", 60).won


def test_dynamodb_item_layout_and_ttl(moto_client: Any) -> None:
    name = "dedupe" + uuid.uuid4().hex[:10]
    clock = FakeClock()
    s = DynamoDBDedupeStore(name, client=moto_client, clock=clock)
    s.create_table()
    ttl = moto_client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at" and ttl["TimeToLiveStatus"] == "ENABLED"
    key_schema = moto_client.describe_table(TableName=name)["Table"]["KeySchema"]
    assert key_schema == [{"AttributeName": "pk", "KeyType": "HASH"}]
    claim: Claim = s.claim(IMAGE_KEY, "a", 90.5)
    assert claim.won
    item = moto_client.get_item(TableName=name, Key={"pk": {"S": IMAGE_KEY}})["Item"]
    assert item["expires_at"] == {"N": str(int(T0) + 91)}  # whole seconds, rounded up
    assert item["state"] == {"S": "claimed"} and item["owner"] == {"S": "a"}
    s.complete(IMAGE_KEY, "a", "success", COUNTS, "s3://b/k.json", 100)
    item = moto_client.get_item(TableName=name, Key={"pk": {"S": IMAGE_KEY}})["Item"]
    assert item["expires_at"] == {"N": str(int(T0) + 100)}
    assert item["counts"]["M"]["critical"] == {"N": "1"} and item["status"] == {"S": "success"}
