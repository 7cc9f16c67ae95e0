"""The normalized scan result every scanner backend produces and every store persists.

`SCHEMA_VERSION` changes whenever the JSON shape changes incompatibly; the JSON Schema lives in
`qscan/schemas/scan-result.schema.json` and the tests validate real results against it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any, Literal, get_args

from qscan.structs import asdict, field, struct
from qscan.target import ScanTarget

SCHEMA_VERSION = "1.0"

Status = Literal["success", "policy_deny", "policy_audit", "partial", "failed", "timeout"]
STATUSES: tuple[str, ...] = get_args(Status)
# Statuses whose findings are complete: only these may be cached as a finished scan of the artifact.
COMPLETE_STATUSES: frozenset[str] = frozenset({"success", "policy_deny", "policy_audit"})


class Severity(IntEnum):
    """Qualys severity levels (qscanner SARIF and the CS API use the same 1-5 scale)."""

    INFO = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4
    CRITICAL = 5

    @property
    def label(self) -> str:
        return self.name.lower()


SEVERITY_LABELS: tuple[str, ...] = tuple(s.label for s in sorted(Severity, reverse=True))


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_scan_id() -> str:
    """Time-ordered, unique scan id (UTC timestamp + random suffix); safe as a path component."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:12]


@struct
class Finding:
    """One vulnerability or secret finding of a scan, normalized across scanner backends."""

    qid: str | None
    title: str | None
    severity: Severity
    cves: tuple[str, ...] = ()
    package_name: str | None = None
    installed_version: str | None = None
    fixed_version: str | None = None
    cvss_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = int(self.severity)
        data["severity_label"] = self.severity.label
        data["cves"] = list(self.cves)
        return data


@struct
class SeverityCounts:
    """How many findings a scan has per severity."""

    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0
    info: int = 0

    @classmethod
    def of(cls, findings: list[Finding] | tuple[Finding, ...]) -> SeverityCounts:
        totals = dict.fromkeys(SEVERITY_LABELS, 0)
        for finding in findings:
            totals[finding.severity.label] += 1
        return cls(**totals)

    def at_or_above(self, severity: Severity) -> int:
        return sum(getattr(self, s.label) for s in Severity if s >= severity)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@struct
class RawOutput:
    """A raw scanner output kept next to the normalized result (e.g. the SARIF report)."""

    name: str
    content_type: str
    body: bytes = field(repr=False)


@struct(frozen=False)
class ScanResult:
    """The normalized outcome of one scan: status, findings, counts and the raw scanner outputs."""

    target: ScanTarget
    backend: str  # "qscanner" | "qualys-api" (or a test double's name, never hidden)
    status: Status
    scan_id: str = field(default_factory=new_scan_id)
    reason: str | None = None  # why the status is not "success" (one line, no secrets)
    exit_code: int | None = None
    exit_code_name: str | None = None
    started_at: str = field(default_factory=utc_now)
    finished_at: str | None = None
    duration_seconds: float | None = None
    findings: tuple[Finding, ...] = ()
    counts: SeverityCounts = field(default_factory=SeverityCounts)
    metadata: dict[str, Any] = field(default_factory=dict)  # image id, OS, scanner version ...
    logs: dict[str, str] = field(default_factory=dict)  # truncated, redacted stdout/stderr tails
    raw_outputs: tuple[RawOutput, ...] = ()
    result_location: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")

    @property
    def complete(self) -> bool:
        """True when the findings are known (never for partial, failed or timed-out scans)."""
        return self.status in COMPLETE_STATUSES

    def with_findings(self, findings: list[Finding] | tuple[Finding, ...]) -> ScanResult:
        self.findings = tuple(findings)
        self.counts = SeverityCounts.of(self.findings)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "scan_id": self.scan_id,
            "backend": self.backend,
            "status": self.status,
            "reason": self.reason,
            "exit_code": self.exit_code,
            "exit_code_name": self.exit_code_name,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_seconds": self.duration_seconds,
            "target": self.target.to_dict(),
            "counts": self.counts.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
            "metadata": self.metadata,
            "logs": self.logs,
            "raw_outputs": [r.name for r in self.raw_outputs],
            "result_location": self.result_location,
        }
