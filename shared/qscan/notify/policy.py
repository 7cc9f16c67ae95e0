"""When does a scan result notify? (DESIGN §3 step 5)

The threshold is one of `CRITICAL`, `HIGH`, `MEDIUM`, `LOW` or `NONE`:

- a complete scan (`success`, `policy_deny`, `policy_audit`) notifies when it has at least one finding at or
  above the threshold; `NONE` never notifies on findings;
- a `policy_deny` always notifies: the Qualys policy blocked the artifact, which security wants to hear even
  when no single finding reaches the threshold;
- every other status (`partial`, `failed`, `timeout`) always notifies, whatever the threshold: the findings are
  unknown, and silence would read as "clean". It notifies once per failed artifact, not once per attempt: a
  caller that will retry the scan passes `final_attempt=False` for the attempts before the last, which do not
  notify (each is a `ScanAttemptsFailed` metric instead); the last attempt, or a deterministic failure that is
  not retried, notifies.
"""

from __future__ import annotations

from typing import Literal, get_args

from qscan.errors import ConfigError
from qscan.results.model import ScanResult, Severity
from qscan.structs import struct

Threshold = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "NONE"]
THRESHOLDS: tuple[str, ...] = get_args(Threshold)
DEFAULT_THRESHOLD: Threshold = "HIGH"

Kind = Literal["findings", "policy_deny", "failure"]


def parse_threshold(value: str | None, *, setting: str = "QSCAN_SEVERITY_THRESHOLD") -> Threshold:
    """Validate a threshold setting (case-insensitive); empty means the default (HIGH)."""
    if value is None or not value.strip():
        return DEFAULT_THRESHOLD
    key = value.strip().upper()
    for threshold in THRESHOLDS:
        if key == threshold:
            return threshold  # type: ignore[return-value]  # narrowed by membership in THRESHOLDS
    raise ConfigError(f"{setting} must be one of {', '.join(THRESHOLDS)} (got {value.strip()[:20]!r})")


def threshold_severity(threshold: Threshold) -> Severity | None:
    """The lowest severity that notifies, or None for NONE."""
    return None if threshold == "NONE" else Severity[threshold]


@struct
class Decision:
    """Whether a result notifies, as what kind, and why."""

    notify: bool
    kind: Kind | None
    reason: str  # one line saying why (logged by handlers; no secrets: it only names statuses and counts)

    def __bool__(self) -> bool:
        return self.notify


def decide(result: ScanResult, threshold: Threshold, *, final_attempt: bool = True) -> Decision:
    """Decide whether `result` notifies under `threshold` (a failure only at its `final_attempt`)."""
    if not result.complete:
        if not final_attempt:
            return Decision(
                False, None, f"scan status {result.status!r}: retried, notified at the final attempt"
            )
        return Decision(True, "failure", f"scan status {result.status!r} always notifies")
    severity = threshold_severity(threshold)
    hits = 0 if severity is None else result.counts.at_or_above(severity)
    if hits:
        assert severity is not None
        return Decision(True, "findings", f"{hits} finding(s) at or above {severity.name}")
    if result.status == "policy_deny":
        return Decision(True, "policy_deny", "the Qualys policy denied the artifact")
    if severity is None:
        return Decision(False, None, "threshold NONE: findings never notify")
    return Decision(False, None, f"no finding at or above {severity.name}")
