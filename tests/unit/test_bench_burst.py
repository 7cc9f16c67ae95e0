"""The burst benchmark's input is what issue 10 item 19 asks for (tests/bench/bench_burst.py)."""

from __future__ import annotations

import json
from collections import Counter

from tests.bench.bench_burst import DIGESTS, RECORDS, WORKERS, burst_bodies


def test_the_burst_is_1000_push_events_over_100_digests_with_interleaved_duplicates() -> None:
    bodies, digests = burst_bodies("123456789012", "us-east-1")
    events = [json.loads(b) for b in bodies]
    order = [e["detail"]["image-digest"] for e in events]
    assert (RECORDS, DIGESTS, WORKERS) == (1_000, 100, 4)
    assert len(bodies) == 1_000 and len(digests) == 100 == len(set(order))
    assert set(Counter(order).values()) == {10}
    first_repeat = next(i for i, d in enumerate(order) if d in order[:i])
    assert first_repeat < 50, "duplicates arrive while unique digests are still coming"
    assert max(sum(1 for _ in run) for run in _runs(order)) <= 3, "copies of one digest are spread out"
    assert all(e["source"] == "aws.ecr" and e["detail"]["action-type"] == "PUSH" for e in events)
    assert all(d.startswith("sha256:") and len(d) == 71 for d in digests)
    assert burst_bodies("123456789012", "us-east-1")[0] != bodies  # fresh event ids every run
    assert [json.loads(b)["detail"]["image-digest"] for b in burst_bodies("1" * 12, "us-east-1")[0]] == order


def _runs(order: list[str]) -> list[list[str]]:
    runs: list[list[str]] = []
    for digest in order:
        if runs and runs[-1][0] == digest:
            runs[-1].append(digest)
        else:
            runs.append([digest])
    return runs
