"""The numbers of `qscan report`, computed from what `qscan.report.collect` read (the JSON file is `to_dict`).

- Artifacts: every artifact of the inventories (what runs or was pushed), with its coverage status, joined by
  dedupe key to its latest stored result, and artifacts that only have results (no inventory lists them:
  status `not-in-inventory`, outside the coverage numbers); never-scanned first, then stale, fresh, the rest.
- Coverage status: the inventory's (`fresh` / `stale` / `never-scanned` at the reconciler's run). With the dedupe
  store, the store's current record wins: a live completion is `fresh` (scanned since the run); without one an
  artifact the inventory called fresh is `stale` when a scan time is known, else `never-scanned`.
- Coverage: those statuses counted per cloud, scope (account or subscription) and platform, and in total.
- Findings by severity over time: per UTC day of the scan's start, the severity counts summed over that day's
  complete scans (success, policy_deny, policy_audit): a day that scanned an image twice counts it twice.
- Top vulnerabilities: over each artifact's latest complete result, how many artifacts carry each vulnerability
  (a QID when the finding has one, else its first CVE, else its title); ties by severity, then id.
- Failed scans: every result whose status is partial, failed or timeout, newest first.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from qscan.reconcile.inventory import STATUSES as COVERAGE_STATUSES
from qscan.report.collect import Collected, Malformed, ResultRow, artifact_text
from qscan.results.model import COMPLETE_STATUSES, SEVERITY_LABELS
from qscan.structs import field, struct

NOT_IN_INVENTORY = "not-in-inventory"
TOP_VULNERABILITIES = 25
MAX_CVES_SHOWN = 10
_AZURE_PLATFORMS = frozenset({"aci", "aca"})
_STATUS_ORDER = ("never-scanned", "stale", "fresh", NOT_IN_INVENTORY)  # what needs action first


@struct
class ArtifactRow:
    cloud: str
    scope: str
    platform: str
    region: str
    artifact: str
    dedupe_key: str | None
    status: str  # fresh | stale | never-scanned | not-in-inventory
    workloads: tuple[str, ...]
    last_scanned_at: float | None
    scan_status: str | None  # the latest stored result's status
    counts: dict[str, int] | None  # None: no result, or its findings are unknown (never shown as clean)
    result_location: str | None
    result_key: str | None  # the store key of the latest result read, when one was
    raw_outputs: tuple[tuple[str, str], ...]  # (name, store key): SARIF, scanner JSON, SBOM when stored

    def to_dict(self) -> dict[str, Any]:
        return {
            "cloud": self.cloud,
            "scope": self.scope,
            "platform": self.platform,
            "region": self.region,
            "artifact": self.artifact,
            "dedupe_key": self.dedupe_key,
            "status": self.status,
            "workloads": list(self.workloads),
            "last_scanned_at": _iso(self.last_scanned_at),
            "scan_status": self.scan_status,
            "counts": self.counts,
            "result_location": self.result_location,
            "result_key": self.result_key,
            "raw_outputs": [{"name": name, "key": key} for name, key in self.raw_outputs],
        }


@struct
class CoverageRow:
    cloud: str
    scope: str
    platform: str
    counts: dict[str, int]  # per coverage status

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "cloud": self.cloud,
            "scope": self.scope,
            "platform": self.platform,
            **self.counts,
            "total": self.total,
        }


@struct
class VulnerabilityRow:
    vuln_id: str
    title: str | None
    severity: int
    cves: tuple[str, ...]
    artifacts: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.vuln_id,
            "title": self.title,
            "severity": self.severity,
            "cves": list(self.cves),
            "artifacts": self.artifacts,
        }


@struct
class InventoryRow:
    cloud: str
    scope: str
    generated_at: str
    run_id: str
    complete: bool
    artifacts: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "cloud": self.cloud,
            "scope": self.scope,
            "generated_at": self.generated_at,
            "run_id": self.run_id,
            "complete": self.complete,
            "artifacts": self.artifacts,
        }


@struct(frozen=False)
class Report:
    generated_at: str
    source: str
    results: int
    inventories: list[InventoryRow]
    coverage: list[CoverageRow]
    coverage_total: dict[str, int]
    severity_by_day: list[tuple[str, dict[str, int]]]
    top_vulnerabilities: list[VulnerabilityRow]
    failed_scans: list[ResultRow]
    artifacts: list[ArtifactRow]
    malformed: list[Malformed] = field(default_factory=list)
    dedupe_used: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "qscan.report/1",
            "generated_at": self.generated_at,
            "source": self.source,
            "results": self.results,
            "dedupe_store_used": self.dedupe_used,
            "inventories": [row.to_dict() for row in self.inventories],
            "coverage": {
                "total": dict(self.coverage_total),
                "by_scope_platform": [row.to_dict() for row in self.coverage],
            },
            "severity_by_day": [{"day": day, **counts} for day, counts in self.severity_by_day],
            "top_vulnerabilities": [row.to_dict() for row in self.top_vulnerabilities],
            "failed_scans": [_failed_dict(row) for row in self.failed_scans],
            "artifacts": [row.to_dict() for row in self.artifacts],
            "malformed": [{"key": item.key, "reason": item.reason} for item in self.malformed],
        }


def build_report(collected: Collected, *, source: str, now: float) -> Report:
    """The report of `collected` at time `now` (epoch seconds; see the module docstring)."""
    latest = _latest_by_artifact(collected.results)
    artifacts, seen = _inventory_artifacts(collected, latest, now)
    for key, row in latest.items():
        if key not in seen:
            artifacts.append(_result_only(row))
    artifacts.sort(key=lambda a: (_STATUS_ORDER.index(a.status), a.cloud, a.scope, a.platform, a.artifact))
    coverage: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    for item in artifacts:
        if item.status != NOT_IN_INVENTORY:
            coverage[item.cloud, item.scope, item.platform][item.status] += 1
    rows = [
        CoverageRow(cloud, scope, platform, {status: counts[status] for status in COVERAGE_STATUSES})
        for (cloud, scope, platform), counts in sorted(coverage.items())
    ]
    total = {status: sum(row.counts[status] for row in rows) for status in COVERAGE_STATUSES}
    failed = sorted(
        (row for row in collected.results if row.status not in COMPLETE_STATUSES),
        key=lambda row: (-row.scanned_at, row.key),
    )
    return Report(
        generated_at=_iso(now) or "",
        source=source,
        results=len(collected.results),
        inventories=[
            InventoryRow(inv.cloud, inv.scope, inv.generated_at, inv.run_id, inv.complete, len(inv.artifacts))
            for inv in sorted(collected.inventories, key=lambda inv: (inv.cloud, inv.scope))
        ],
        coverage=rows,
        coverage_total=total,
        severity_by_day=_severity_by_day(collected.results),
        top_vulnerabilities=_top_vulnerabilities(latest),
        failed_scans=failed,
        artifacts=artifacts,
        malformed=list(collected.malformed),
        dedupe_used=collected.dedupe_store,
    )


def _artifact_key(row: ResultRow) -> str:
    return row.target.dedupe_key or row.key


def _latest_by_artifact(results: list[ResultRow]) -> dict[str, ResultRow]:
    latest: dict[str, ResultRow] = {}
    for row in results:
        key = _artifact_key(row)
        known = latest.get(key)
        if known is None or (row.scanned_at, row.key) > (known.scanned_at, known.key):
            latest[key] = row
    return latest


def _inventory_artifacts(
    collected: Collected, latest: dict[str, ResultRow], now: float
) -> tuple[list[ArtifactRow], set[str]]:
    rows: list[ArtifactRow] = []
    seen: set[str] = set()
    by_location = {row.location: row for row in latest.values() if row.location}
    for inventory in sorted(collected.inventories, key=lambda inv: (inv.cloud, inv.scope)):
        for item in inventory.artifacts:
            status, scanned_at, location = item.status, item.last_scanned_at, item.result_location
            if item.dedupe_key in collected.dedupe:
                record = collected.dedupe[item.dedupe_key]
                if record is not None and record.state == "complete" and record.live(now):
                    status, scanned_at = "fresh", record.completed_at
                    location = record.result_location or location
                elif status == "fresh":
                    status = "stale" if scanned_at is not None else "never-scanned"
            result = latest.get(item.dedupe_key) or (by_location.get(location) if location else None)
            if result is not None:
                seen.add(_artifact_key(result))
            rows.append(
                ArtifactRow(
                    cloud=inventory.cloud,
                    scope=inventory.scope,
                    platform=item.platform,
                    region=item.region,
                    artifact=item.artifact,
                    dedupe_key=item.dedupe_key,
                    status=status,
                    workloads=item.workloads,
                    last_scanned_at=scanned_at,
                    scan_status=result.status if result else None,
                    counts=_known_counts(result),
                    result_location=location or (result.location if result else None),
                    result_key=result.key if result else None,
                    raw_outputs=result.raw_outputs if result else (),
                )
            )
    return rows, seen


def _result_only(row: ResultRow) -> ArtifactRow:
    target = row.target
    return ArtifactRow(
        cloud="azure" if target.platform in _AZURE_PLATFORMS else "aws",
        scope=target.account or "-",
        platform=target.platform,
        region=target.region or "-",
        artifact=artifact_text(target),
        dedupe_key=target.dedupe_key,
        status=NOT_IN_INVENTORY,
        workloads=(target.resource_id,) if target.resource_id else (),
        last_scanned_at=row.scanned_at,
        scan_status=row.status,
        counts=_known_counts(row),
        result_location=row.location,
        result_key=row.key,
        raw_outputs=row.raw_outputs,
    )


def _known_counts(row: ResultRow | None) -> dict[str, int] | None:
    """A result's severity counts, or None when its findings are unknown (partial, failed, timeout: not clean)."""
    return row.counts if row is not None and row.status in COMPLETE_STATUSES else None


def _severity_by_day(results: list[ResultRow]) -> list[tuple[str, dict[str, int]]]:
    days: dict[str, Counter[str]] = defaultdict(Counter)
    for row in results:
        if row.status in COMPLETE_STATUSES:
            day = datetime.fromtimestamp(row.scanned_at, UTC).strftime("%Y-%m-%d")
            days[day].update(row.counts)
    return [(day, {label: days[day][label] for label in SEVERITY_LABELS}) for day in sorted(days)]


def _top_vulnerabilities(latest: dict[str, ResultRow]) -> list[VulnerabilityRow]:
    artifacts: Counter[str] = Counter()
    info: dict[str, tuple[str | None, int, set[str]]] = {}
    for row in latest.values():
        if row.status not in COMPLETE_STATUSES:
            continue
        for vuln_id in {vuln.vuln_id for vuln in row.vulnerabilities}:
            artifacts[vuln_id] += 1
        for vuln in row.vulnerabilities:
            title, severity, cves = info.get(vuln.vuln_id, (vuln.title, vuln.severity, set()))
            cves.update(vuln.cves)
            info[vuln.vuln_id] = (title or vuln.title, max(severity, vuln.severity), cves)
    ranked = sorted(artifacts, key=lambda vuln_id: (-artifacts[vuln_id], -info[vuln_id][1], vuln_id))
    return [
        VulnerabilityRow(
            vuln_id,
            info[vuln_id][0],
            info[vuln_id][1],
            tuple(sorted(info[vuln_id][2])[:MAX_CVES_SHOWN]),
            artifacts[vuln_id],
        )
        for vuln_id in ranked[:TOP_VULNERABILITIES]
    ]


def _failed_dict(row: ResultRow) -> dict[str, Any]:
    return {
        "scan_id": row.scan_id,
        "status": row.status,
        "reason": row.reason,
        "started_at": row.started_at,
        "platform": row.target.platform,
        "artifact": row.artifact,
        "result_location": row.location,
        "result_key": row.key,
    }


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
