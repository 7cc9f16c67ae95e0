"""QSCAN_CACHE_TTL_SECONDS=0 ("no cache") end to end on both dedupe backends: DynamoDB (moto) and Azure Table
(Azurite). A complete scan must neither block the next scan nor leave a cached record; the stores themselves
refuse a completion kept for 0 seconds, which is why the pipeline releases the claim instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from qscan.dedupe.azure_table import AzureTableDedupeStore
from qscan.dedupe.base import DedupeStore
from qscan.dedupe.dynamodb import DynamoDBDedupeStore
from qscan.pipeline import Pipeline
from qscan.results.model import SeverityCounts

from tests.harness.azurite import Azurite
from tests.harness.dynamodb import moto_dynamodb
from tests.unit.test_pipeline import TARGET, Publisher, Results, Scanner

pytestmark = pytest.mark.integration


@pytest.fixture(params=["dynamodb", "azure_table"])
def store(request: pytest.FixtureRequest) -> Iterator[DedupeStore]:
    name = "dedupe" + uuid.uuid4().hex[:10]
    if request.param == "dynamodb":
        with moto_dynamodb() as client:
            dynamo = DynamoDBDedupeStore(name, client=client)
            dynamo.create_table()
            yield dynamo
        return
    azurite: Azurite = request.getfixturevalue("azurite")
    table = AzureTableDedupeStore(azurite.table_service().get_table_client(name))
    table.create_table()
    yield table


def test_no_cache_rescans_every_event_and_leaves_no_record(store: DedupeStore) -> None:
    scanner = Scanner("success", 0)
    pipeline = Pipeline(
        store, scanner, Results(), Publisher(), "HIGH", lease_seconds=300, cache_ttl_seconds=0
    )
    outcomes = [pipeline.process(TARGET, owner).disposition for owner in ("msg-1", "msg-2", "msg-3")]
    assert outcomes == ["scanned"] * 3 and scanner.scans == 3
    key = TARGET.dedupe_key or ""
    assert store.lookup(key) is None  # nothing cached, nothing blocking
    assert store.claim(key, "x", 60).won
    with pytest.raises(ValueError, match="cache_ttl_seconds"):  # why the pipeline never asks for it
        store.complete(key, "x", "success", SeverityCounts(), None, 0)
