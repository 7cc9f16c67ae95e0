"""A deterministic results store for `qscan report`'s tests and benchmark, written through the real store.

`write_fixture(store, results=5000)` puts `results` scan results (`ObjectResultStore.put_result`: raw outputs
and normalized JSON under `qscan.results.keys`), one inventory snapshot per scope (`put_document` at
`inventory_key`) and a few malformed documents, and returns what the report must find: the coverage counts per
status and per (cloud, scope, platform), the number of results, failed scans and malformed documents.

Shape (seeded, so every run writes the same bytes): three scopes (two AWS accounts, one Azure subscription),
every platform; about one artifact in five is scanned twice (an older scan and a rescan), one scan in twenty
fails or times out; inventories list every scanned artifact (fresh when its latest scan is within the rescan
interval of `NOW`, else stale) and `never_scanned` artifacts per scope that have no result.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from qscan.reconcile.inventory import Inventory, InventoryArtifact, Status, inventory_key
from qscan.results.model import Finding, RawOutput, ScanResult, Severity
from qscan.results.store import DocumentStore
from qscan.target import ScanTarget

NOW = 1_796_000_000.0  # 2026-11-29T...Z: the report's `now` in the tests
DAY = 86_400
RESCAN_INTERVAL = 7 * DAY
SCOPES = (
    ("aws", "111111111111", ("ecr", "ecs", "lambda")),
    ("aws", "222222222222", ("ecr", "ecs")),
    ("azure", "0f0e0d0c-0b0a-4908-8706-050403020100", ("aci", "aca")),
)
REGION = {"aws": "eu-west-1", "azure": "westeurope"}
QIDS = tuple(str(100_000 + n) for n in range(60))
BAD_KEYS = (
    "results/ecr/111111111111/eu-west-1/broken/not-json.json",
    "results/ecr/111111111111/eu-west-1/broken/not-a-result.json",
    "inventory/aws/999999999999/latest.json",
)


@dataclass(slots=True)
class Expected:
    results: int = 0
    failed: int = 0
    malformed: int = len(BAD_KEYS)
    coverage: Counter[str] = field(default_factory=Counter)
    by_scope_platform: dict[tuple[str, str, str], Counter[str]] = field(default_factory=dict)
    artifacts: int = 0


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _target(rng: random.Random, cloud: str, scope: str, platform: str, n: int) -> ScanTarget:
    region = REGION[cloud]
    if platform == "lambda":
        arn = f"arn:aws:lambda:{region}:{scope}:function:fn-{n}"
        return ScanTarget(
            kind="function",
            platform="lambda",
            function_arn=arn,
            code_sha256=f"{rng.getrandbits(256):064x}",
            account=scope,
            region=region,
            resource_id=arn,
        )
    repository = f"team-{n % 7}/app-{n}"
    return ScanTarget(
        kind="image",
        platform=platform,  # type: ignore[arg-type]
        repository=repository,
        digest=f"sha256:{rng.getrandbits(256):064x}",
        account=scope,
        region=region,
        resource_id=f"{platform}-workload-{n}",
    )


def _result(rng: random.Random, target: ScanTarget, started: float, index: int) -> ScanResult:
    failed = index % 20 == 7
    status = ("timeout" if index % 40 == 7 else "failed") if failed else "success"
    result = ScanResult(
        target=target,
        backend="qscanner",
        status=status,  # type: ignore[arg-type]
        scan_id=f"{datetime.fromtimestamp(started, UTC):%Y%m%dT%H%M%SZ}-{index:012x}",
        started_at=_iso(started),
        finished_at=_iso(started + 30),
        duration_seconds=30.0,
        reason="scanner exited 1" if failed else None,
    )
    if not failed:
        findings = [
            Finding(
                qid=qid,
                title=f"Vulnerability {qid} <in package>",
                severity=Severity(1 + int(qid) % 5),
                cves=(f"CVE-2026-{qid}",),
            )
            for qid in sorted(set(rng.choices(QIDS[: 10 + index % 50], k=rng.randrange(0, 6))))
        ]
        result.with_findings(findings)
    if index % 10 == 0:
        result.raw_outputs = (RawOutput("Report.sarif.json", "application/sarif+json", b'{"runs":[]}'),)
    if index % 250 == 0:
        result.raw_outputs += (
            RawOutput("sbom.spdx.json", "application/spdx+json", b'{"spdxVersion":"SPDX-2.3"}'),
        )
    return result


def write_fixture(store: DocumentStore, results: int = 5000, never_scanned: int = 40) -> Expected:
    """Write the fixture into `store` (see the module docstring); what the report must show."""
    rng = random.Random(14)
    expected = Expected()
    inventories: dict[tuple[str, str], list[InventoryArtifact]] = {(c, s): [] for c, s, _ in SCOPES}
    index = 0
    n = 0
    while index < results:
        cloud, scope, platforms = SCOPES[n % len(SCOPES)]
        platform = platforms[(n // len(SCOPES)) % len(platforms)]
        target = _target(rng, cloud, scope, platform, n)
        scans = 2 if n % 5 == 0 and index + 1 < results else 1
        latest = NOW - rng.uniform(0, 13 * DAY)
        times = [latest - 9 * DAY, latest][-scans:]
        last_result = None
        for started in times:
            last_result = _result(rng, target, started, index)
            store.put_result(last_result)
            expected.results += 1
            expected.failed += not last_result.complete
            index += 1
        assert last_result is not None
        fresh = NOW - latest < RESCAN_INTERVAL and last_result.complete
        status: Status = "fresh" if fresh else "stale"
        inventories[cloud, scope].append(
            InventoryArtifact(
                platform=platform,
                dedupe_key=str(target.dedupe_key),
                artifact=target.function_arn or f"{target.repository}@{target.digest}",
                workloads=(str(target.resource_id),),
                region=REGION[cloud],
                last_scanned_at=latest,
                status=status,
                result_location=last_result.result_location,
                requested=status == "stale",
            )
        )
        n += 1
    for cloud, scope, platforms in SCOPES:
        for m in range(never_scanned):
            platform = platforms[m % len(platforms)]
            target = _target(rng, cloud, scope, platform, 1_000_000 + m)
            inventories[cloud, scope].append(
                InventoryArtifact(
                    platform=platform,
                    dedupe_key=str(target.dedupe_key),
                    artifact=target.function_arn or f"{target.repository}@{target.digest}",
                    workloads=(str(target.resource_id),),
                    region=REGION[cloud],
                    last_scanned_at=None,
                    status="never-scanned",
                    result_location=None,
                    requested=True,
                )
            )
    for (cloud, scope), artifacts in inventories.items():
        inventory = Inventory(
            cloud=cloud,  # type: ignore[arg-type]
            scope=scope,
            generated_at=_iso(NOW - 600),
            run_id="fixture-run",
            complete=True,
            rescan_interval_seconds=RESCAN_INTERVAL,
            artifacts=tuple(artifacts),
        )
        store.put_document(inventory_key(cloud, scope), inventory.to_json())
        for item in artifacts:
            expected.coverage[item.status] += 1
            expected.by_scope_platform.setdefault((cloud, scope, item.platform), Counter())[item.status] += 1
        expected.artifacts += len(artifacts)
    store.put_document(BAD_KEYS[0], b"{not json")
    store.put_document(BAD_KEYS[1], b'{"schema_version": "1.0"}')
    store.put_document(BAD_KEYS[2], b'{"schema": "qscan.inventory/0"}')
    return expected
