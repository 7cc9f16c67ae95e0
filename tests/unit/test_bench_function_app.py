"""The Functions app bench's helpers compute what they claim (tests/bench/bench_function_app.py)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.bench.bench_function_app import (
    ACI_WRITE,
    IMAGES,
    MESSAGES,
    burst_bodies,
    closes,
    host_batch_size,
    overhead_ms,
    total_accounting,
)

GROUPS = [
    f"/subscriptions/s/resourceGroups/bench/providers/{ACI_WRITE.rsplit('/', 1)[0]}/cg-{i}" for i in range(50)
]


def test_the_burst_is_500_aci_writes_over_50_groups_shuffled_with_fresh_event_ids() -> None:
    bodies = burst_bodies(GROUPS)
    events = [json.loads(b) for b in bodies]
    order = [e["subject"] for e in events]
    assert (MESSAGES, IMAGES) == (500, 50)
    assert len(bodies) == 500 and set(order) == set(GROUPS)
    assert set(Counter(order).values()) == {10}
    assert order[:50] != GROUPS, "shuffled, not group after group"
    assert all(
        e["data"]["operationName"] == ACI_WRITE and e["data"]["resourceUri"] == e["subject"] for e in events
    )
    assert len({e["id"] for e in events}) == 500
    assert [json.loads(b)["subject"] for b in burst_bodies(GROUPS)] == order  # the same order every run


def test_overhead_subtracts_only_the_scans_inside_the_invocation() -> None:
    scans = [(10.1, 10.4), (9.0, 10.05), (10.5, 11.5), (10.6, 10.7)]
    assert overhead_ms(10.0, 11.0, scans) == pytest.approx((1.0 - 0.3 - 0.1) * 1000)
    assert overhead_ms(20.0, 20.25, scans) == pytest.approx(250.0)


def test_accounting_sums_every_invocation_and_closes_only_when_every_event_is_counted() -> None:
    line = {"events": 1, "scanned": 1, "deduplicated": 0, "cached": 0, "failed": 0, "skipped": {}}
    skipped = {
        "events": 2,
        "scanned": 0,
        "deduplicated": 0,
        "cached": 0,
        "failed": 0,
        "skipped": {"a": 1, "b": 1},
    }
    totals = total_accounting([line, line, skipped])
    assert totals == {"events": 4, "scanned": 2, "deduplicated": 0, "cached": 0, "failed": 0, "skipped": 2}
    assert closes(totals)
    assert not closes(totals | {"events": 5})
    assert not closes(totals | {"cached": 1})


def test_the_instances_batch_size_is_host_json_s() -> None:
    assert host_batch_size() == 4  # host.json's default, as modules/aci-aca renders it
