"""qscanner exit codes (DESIGN §4) mapped to a normalized scan status.

The table is the contract: 0 success; 1 generic error; 2 invalid parameter; 5-21 artifact or scan-stage
failures; 30-39 result/SBOM/upload handler failures; 40 vulnerability report unavailable (the scan ran, the
findings are unknown: never clean); 41 policy result unavailable; 42 policy deny; 43 policy audit.
Anything else (3, 4, 22-29, 44+, killed by a signal) is an unknown failure, never a success.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass

from qscan.results.model import Status


@dataclass(frozen=True, slots=True)
class ExitCode:
    code: int
    name: str
    status: Status
    description: str
    # True when the report files must hold the complete findings (success and the policy verdicts).
    findings_expected: bool


_FIXED: dict[int, tuple[str, Status, str, bool]] = {
    0: ("SUCCESS", "success", "scan completed", True),
    1: ("GENERIC_ERROR", "failed", "qscanner reported a generic error", False),
    2: ("INVALID_PARAMETER", "failed", "qscanner rejected a parameter", False),
    40: (
        "VULN_REPORT_FAILED",
        "partial",
        "the scan ran but the vulnerability report could not be fetched; findings unknown",
        False,
    ),
    41: ("POLICY_RESULT_FAILED", "partial", "the scan ran but the policy result could not be fetched", False),
    42: ("POLICY_DENY", "policy_deny", "the artifact failed the Qualys policy", True),
    43: ("POLICY_AUDIT", "policy_audit", "the artifact matched an audit-only Qualys policy", True),
}


def classify(code: int) -> ExitCode:
    """Map a process return code (negative: killed by that signal) to its name and scan status."""
    if code in _FIXED:
        name, status, description, expected = _FIXED[code]
        return ExitCode(code, name, status, description, expected)
    if 5 <= code <= 21:
        return ExitCode(code, f"SCAN_STAGE_FAILED_{code}", "failed", "artifact or scan-stage failure", False)
    if 30 <= code <= 39:
        return ExitCode(
            code,
            f"RESULT_HANDLER_FAILED_{code}",
            "partial",
            "the scan ran but a result, SBOM or upload handler failed",
            False,
        )
    if code < 0:
        try:
            signame = signal.Signals(-code).name
        except ValueError:
            signame = f"SIGNAL_{-code}"
        return ExitCode(code, f"KILLED_{signame}", "failed", f"qscanner was killed by {signame}", False)
    return ExitCode(code, f"UNKNOWN_{code}", "failed", "qscanner exited with an undocumented code", False)
