"""The DESIGN §4 exit-code table: every documented code and range, and what is never clean."""

from __future__ import annotations

import signal

import pytest
from qscan.results.model import COMPLETE_STATUSES
from qscan.scanners.exit_codes import classify, deterministic_failure


@pytest.mark.parametrize(
    ("code", "name", "status"),
    [
        (0, "SUCCESS", "success"),
        (1, "GENERIC_ERROR", "failed"),
        (2, "INVALID_PARAMETER", "failed"),
        (40, "VULN_REPORT_FAILED", "partial"),
        (41, "POLICY_RESULT_FAILED", "partial"),
        (42, "POLICY_DENY", "policy_deny"),
        (43, "POLICY_AUDIT", "policy_audit"),
    ],
)
def test_fixed_codes(code: int, name: str, status: str) -> None:
    info = classify(code)
    assert (info.code, info.name, info.status) == (code, name, status)


@pytest.mark.parametrize("code", range(5, 22))
def test_scan_stage_range_fails(code: int) -> None:
    info = classify(code)
    assert info.status == "failed"
    assert info.name == f"SCAN_STAGE_FAILED_{code}"


@pytest.mark.parametrize("code", range(30, 40))
def test_result_handler_range_is_partial(code: int) -> None:
    info = classify(code)
    assert info.status == "partial"
    assert info.name == f"RESULT_HANDLER_FAILED_{code}"


@pytest.mark.parametrize("code", [3, 4, 22, 29, 44, 99, 125, 255])
def test_undocumented_codes_fail(code: int) -> None:
    info = classify(code)
    assert info.status == "failed"
    assert info.name == f"UNKNOWN_{code}"


def test_signal_deaths_are_named() -> None:
    assert classify(-signal.SIGKILL).name == "KILLED_SIGKILL"
    assert classify(-signal.SIGKILL).status == "failed"


def test_only_success_and_policy_verdicts_are_complete() -> None:
    complete = {c for c in range(-20, 256) if classify(c).status in COMPLETE_STATUSES}
    assert complete == {0, 42, 43}
    # 40: the scan ran, the findings are unknown: never clean.
    assert classify(40).status not in COMPLETE_STATUSES
    assert not classify(40).findings_expected


@pytest.mark.parametrize("code", [2, 5, 6, 7, 8, 9, 10, 15, 17])
def test_deterministic_failures_are_not_retryable(code: int) -> None:
    info = classify(code)
    assert info.status == "failed" and info.retryable is False
    assert deterministic_failure(code)


@pytest.mark.parametrize("code", [0, 1, 3, 11, 12, 13, 14, 16, 18, 21, 30, 39, 40, 41, 42, 43, 99, -9])
def test_everything_else_may_be_retried(code: int) -> None:
    assert classify(code).retryable is True
    assert not deterministic_failure(code)


def test_a_timeout_without_an_exit_code_is_not_deterministic() -> None:
    assert not deterministic_failure(None)
    assert "not found" in classify(6).description and "not supported" in classify(17).description
