"""Dedupe store latency: one claim + complete per new key, on DynamoDB (moto in-process) and Azure Table
(Azurite on loopback). Figures are emulator figures: they compare the backends' request paths, not clouds."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable

from qscan.dedupe.azure_table import AzureTableDedupeStore
from qscan.dedupe.base import DedupeStore
from qscan.dedupe.dynamodb import DynamoDBDedupeStore
from qscan.results.model import SeverityCounts

from tests.harness.azurite import azurite_running
from tests.harness.dynamodb import moto_dynamodb

ROUNDS = 300
WARMUP = 20
COUNTS = SeverityCounts(high=1)


def _measure(store: DedupeStore) -> tuple[list[float], list[float], list[float]]:
    claims: list[float] = []
    completes: list[float] = []
    hits: list[float] = []
    for n in range(WARMUP + ROUNDS):
        key = f"image#sha256:{uuid.uuid4().hex}{n:032x}"
        t0 = time.perf_counter()
        store.claim(key, "bench", 900)
        t1 = time.perf_counter()
        store.complete(key, "bench", "success", COUNTS, "s3://bucket/results/x.json", 3600)
        t2 = time.perf_counter()
        store.claim(key, "other", 900)  # a duplicate event: cache hit
        t3 = time.perf_counter()
        if n >= WARMUP:
            claims.append((t1 - t0) * 1000)
            completes.append((t2 - t1) * 1000)
            hits.append((t3 - t2) * 1000)
    return claims, completes, hits


def _fmt(samples: list[float]) -> str:
    p95 = statistics.quantiles(samples, n=20)[-1]
    return f"median {statistics.median(samples):.2f} ms, p95 {p95:.2f} ms"


def _rows(
    name: str, measure: Callable[[], tuple[list[float], list[float], list[float]]]
) -> list[tuple[str, str]]:
    claims, completes, hits = measure()
    both = [a + b for a, b in zip(claims, completes, strict=True)]
    return [
        (f"{name}: claim + complete (n={ROUNDS})", _fmt(both)),
        (f"{name}: claim (new key)", _fmt(claims)),
        (f"{name}: complete", _fmt(completes)),
        (f"{name}: claim (cache hit)", _fmt(hits)),
    ]


def _dynamodb() -> tuple[list[float], list[float], list[float]]:
    with moto_dynamodb() as client:
        store = DynamoDBDedupeStore("bench-" + uuid.uuid4().hex[:8], client=client)
        store.create_table()
        return _measure(store)


def _azure_table() -> tuple[list[float], list[float], list[float]]:
    with azurite_running() as azurite:
        store = AzureTableDedupeStore(
            azurite.table_service().get_table_client("bench" + uuid.uuid4().hex[:8])
        )
        store.create_table()
        return _measure(store)


def run() -> list[tuple[str, str]]:
    return _rows("DynamoDB (moto in-process)", _dynamodb) + _rows("Azure Table (Azurite)", _azure_table)
