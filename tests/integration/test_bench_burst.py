"""A scaled-down burst (tests/bench/bench_burst.py) through the real ECR handler in concurrent worker processes
on a moto server: every unique digest is scanned exactly once however the duplicates are spread over workers."""

from __future__ import annotations

import pytest

from tests.bench.bench_burst import burst

pytestmark = pytest.mark.integration


def test_a_burst_over_concurrent_workers_scans_each_digest_once() -> None:
    report = burst(records=60, digests=12, workers=3, batch_size=5)
    assert report.failed == 0
    assert report.handled >= 60  # an SQS redelivery may add a record, never lose one
    assert (report.scans, report.documents, report.completed_claims) == (12, 12, 12)
    assert len(report.overheads_ms) >= 60 // 5 and all(o > 0 for o in report.overheads_ms)
