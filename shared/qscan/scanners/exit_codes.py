"""qscanner exit codes (DESIGN §4) mapped to a normalized scan status, and whether a retry can help.

The table is the contract: 0 success; 1 generic error; 2 invalid parameter; 5-21 artifact or scan-stage
failures; 30-39 result/SBOM/upload handler failures; 40 vulnerability report unavailable (the scan ran, the
findings are unknown: never clean); 41 policy result unavailable; 42 policy deny; 43 policy audit.
Anything else (3, 4, 22-29, 44+, killed by a signal) is an unknown failure, never a success.

`retryable` says whether scanning the same artifact again with the same arguments can end differently. It is
False only for failures that are deterministic (DESIGN §3 Errors: they "do not burn retries"):

- 2, invalid parameter: the same arguments are rejected again;
- 5-10, the artifact stages (the artifact could not be read: not found, not pullable, not a supported kind of
  artifact); DESIGN §4 names only the range 5-21, the split into artifact stages (5-10) and scan stages
  (11-21) follows qscanner's published code table;
- 15 (no operating system found in the artifact) and 17 (operating system not supported).

Every other failure is retried: a generic error (1), the other scan stages (11-14, 16, 18-21: they fetch
vulnerability data and can fail transiently), result handlers and uploads (30-39), the report and policy
fetches (40, 41), undocumented codes and signal deaths (a timeout kill). Note the trade-off of 5-10: a pull
that failed transiently is not retried either; it is dead-lettered at once with its reason and can be
redriven from the dead-letter queue.
"""

from __future__ import annotations

import signal

from qscan.results.model import Status
from qscan.structs import struct


@struct
class ExitCode:
    """What one qscanner exit code means for the scan's status (see the module docstring)."""

    code: int
    name: str
    status: Status
    description: str
    # True when the report files must hold the complete findings (success and the policy verdicts).
    findings_expected: bool
    # False when a rescan with the same arguments cannot end differently (see the module docstring).
    retryable: bool = True


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

ARTIFACT_STAGES = range(5, 11)  # the artifact could not be read
_STAGE_DESCRIPTIONS: dict[int, str] = {
    15: "no operating system was found in the artifact",
    17: "the artifact's operating system is not supported",
}
DETERMINISTIC_CODES: frozenset[int] = frozenset({2, *ARTIFACT_STAGES, *_STAGE_DESCRIPTIONS})


def classify(code: int) -> ExitCode:
    """Map a process return code (negative: killed by that signal) to its name and scan status."""
    retryable = code not in DETERMINISTIC_CODES
    if code in _FIXED:
        name, status, description, expected = _FIXED[code]
        return ExitCode(code, name, status, description, expected, retryable)
    if 5 <= code <= 21:
        if code in ARTIFACT_STAGES:
            description = "artifact stage failed: the artifact could not be read (not found or not pullable)"
        else:
            description = _STAGE_DESCRIPTIONS.get(code, "scan stage failed")
        return ExitCode(code, f"SCAN_STAGE_FAILED_{code}", "failed", description, False, retryable)
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


def deterministic_failure(code: int | None) -> bool:
    """True for an exit code whose failure a retry cannot change (None, e.g. a timeout, is never one)."""
    return code is not None and code in DETERMINISTIC_CODES
