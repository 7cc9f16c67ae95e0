"""`qscan report` over 5,000 results (tests/harness/report_fixture.py): reading the store (list + get + parse +
schema validation) and building + rendering the HTML and JSON, on the in-memory store double and on moto S3
in-process. Emulator figures: S3's per-request latency is not in them."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from unittest import mock

from qscan.report import write_report
from qscan.report.collect import collect
from qscan.report.model import build_report
from qscan.results.store import DocumentStore

from tests.doubles.memory_store import MemoryResultStore
from tests.harness.report_fixture import NOW, write_fixture

RESULTS = 5000


def _measure(store: DocumentStore, label: str) -> list[tuple[str, str]]:
    t0 = time.perf_counter()
    collected = collect(store)
    t1 = time.perf_counter()
    report = build_report(collected, source=label, now=NOW)
    with tempfile.TemporaryDirectory() as out:
        html_path, json_path = write_report(report, Path(out), lambda _key: None)
        size = html_path.stat().st_size + json_path.stat().st_size
    t2 = time.perf_counter()
    return [
        (
            f"{label}: read {len(collected.results)} results",
            f"{t1 - t0:.2f} s ({len(collected.results) / (t1 - t0):.0f}/s)",
        ),
        (f"{label}: build + render HTML/JSON", f"{t2 - t1:.2f} s ({size / 1e6:.1f} MB written)"),
        (f"{label}: total", f"{t2 - t0:.2f} s"),
    ]


def run() -> list[tuple[str, str]]:
    memory = MemoryResultStore()
    write_fixture(memory, results=RESULTS)
    rows = _measure(memory, "memory double")

    import boto3  # noqa: PLC0415 - moto only for its part
    from moto import mock_aws  # noqa: PLC0415
    from qscan.results.s3 import S3ResultStore  # noqa: PLC0415

    env = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    with mock.patch.dict(os.environ, env), mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="bench-results")
        s3 = S3ResultStore("bench-results", client=client)
        write_fixture(s3, results=RESULTS)
        rows += _measure(s3, "moto S3")
    return rows


if __name__ == "__main__":
    for label, figure in run():
        print(f"  {label:<40}  {figure}")
