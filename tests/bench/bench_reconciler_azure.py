"""The Azure reconciler's listing rate on the fake ARM server: artifacts listed per second, first and second run.

A subscription of 300 ACI container groups, 100 container apps and 20 jobs with 5 recent executions each
(images pinned by digest, 200 distinct: no registry round trip), listed by `qscan.azure.reconciler.run` through
the real management SDKs over TLS (the fake's page size PAGE_SIZE, so the SDKs follow nextLink), decided against
the Table dedupe store on Azurite, requests sent to an Azurite queue; beside them the ARM listing alone
(pages and the workload parser, no decision). The first run requests every distinct
image; the second finds each one already requested (one dedupe lookup and one marker claim each). The fake ARM,
Azurite and this process share the machine: compare runs on the same machine, not with Azure.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from azure.core.credentials import AccessToken, AzureNamedKeyCredential
from qscan.azure import reconciler
from qscan.azure.inventory import ListedPage, listings
from qscan.dedupe.azure_table import AzureTableDedupeStore
from qscan.reconcile.core import Limits

from tests.doubles.fake_arm import FakeArm
from tests.doubles.memory_store import MemoryResultStore
from tests.harness.azurite import ACCOUNT, ACCOUNT_KEY, azurite_running

SUB = "00000000-0000-0000-0000-0000000000c3"
GROUPS, APPS, JOBS, EXECUTIONS, DISTINCT, PAGE_SIZE = 300, 100, 20, 5, 200, 50
NOW = 1_796_180_400.0  # 2026-12-02T03:00:00Z: the fake's executions started two hours before


class _Credential:
    def get_token(self, *scopes: str, **_kwargs: Any) -> AccessToken:
        return AccessToken("bench-token-" + "b" * 40, int(time.time()) + 3600)


def _image(n: int) -> str:
    return f"registry.example/team/app{n % 10}@sha256:{n % DISTINCT:064x}"


def _seed(arm: FakeArm) -> None:
    for n in range(GROUPS):
        arm.add_container_group(SUB, "apps", f"group{n}", [("c", _image(n))])
    for n in range(APPS):
        arm.add_container_app(SUB, "apps", f"app{n}", [("c", _image(GROUPS + n))])
    for n in range(JOBS):
        job = arm.add_job(SUB, "jobs", f"job{n}", [("main", _image(n))])
        for e in range(EXECUTIONS):
            arm.add_job_execution(job, f"job{n}-{e}", [("main", _image(n * EXECUTIONS + e))])


def run() -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    with (
        tempfile.TemporaryDirectory() as tls,
        azurite_running() as azurite,
        FakeArm(page_size=PAGE_SIZE) as arm,
    ):
        bundle = Path(tls) / "ca.pem"
        bundle.write_text(Path(arm.ca_file).read_text())
        saved = {name: os.environ.get(name) for name in ("REQUESTS_CA_BUNDLE", "NO_PROXY")}
        os.environ.update({"REQUESTS_CA_BUNDLE": str(bundle), "NO_PROXY": "127.0.0.1,localhost"})
        try:
            _seed(arm)
            table = "bench" + uuid.uuid4().hex[:10]
            azurite.table_service().create_table(table)
            queue = azurite.queue_service().get_queue_client("reconcile-" + uuid.uuid4().hex[:8])
            queue.create_queue()
            store = AzureTableDedupeStore.from_endpoint(
                azurite.table_endpoint,
                table,
                AzureNamedKeyCredential(ACCOUNT, ACCOUNT_KEY),
                clock=lambda: NOW,
            )
            config = reconciler.ReconcileConfig(
                subscriptions=(SUB,),
                lookback_seconds=7 * 24 * 3600,
                limits=Limits(max_pages=10_000, max_seconds=600.0, max_requests=10_000),
                rescan_interval_seconds=7 * 24 * 3600,
                request_window_seconds=6 * 3600.0,
            )
            start = time.perf_counter()
            pages = [
                page
                for listing in listings(
                    SUB,
                    credential=_Credential(),
                    base_url=arm.url,
                    lookback_seconds=7 * 24 * 3600,
                    now=lambda: NOW,
                )
                for page in listing.pages()
                if isinstance(page, ListedPage)
            ]
            seconds = time.perf_counter() - start
            found = sum(len(page.workloads) for page in pages)
            rows.append(("ARM listing alone", f"{found} workloads in {len(pages)} pages in {seconds:.2f}s"))
            rows.append(("  workloads listed per second", f"{found / seconds:,.0f}"))
            for label in ("first run (requests everything)", "second run (all already requested)"):
                start = time.perf_counter()
                (outcome,) = reconciler.run(
                    config,
                    credential=_Credential(),
                    store=store,
                    results=MemoryResultStore(),
                    send=queue.send_message,
                    resolve=lambda target: target,  # pinned by digest: nothing to resolve
                    arm_base_url=arm.url,
                    clock=lambda: NOW,
                )
                seconds = time.perf_counter() - start
                summary = outcome.summary
                rows.append((label, f"{summary.listed} listed, {summary.unique} unique, "
                                    f"{summary.enqueued} enqueued, {summary.pages} ARM calls in {seconds:.2f}s"))  # fmt: skip
                rows.append(("  artifacts listed per second", f"{summary.listed / seconds:,.0f}"))
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    return rows
