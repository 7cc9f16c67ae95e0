"""Threshold policy: which results notify (DESIGN §3 step 5: failures always notify)."""

from __future__ import annotations

import pytest
from qscan.errors import ConfigError
from qscan.notify.policy import THRESHOLDS, decide, parse_threshold
from qscan.results.model import Finding, ScanResult, Severity
from qscan.target import ScanTarget

TARGET = ScanTarget(
    kind="image", platform="ecr", repository="team/api", tag="1.0", digest="sha256:" + "a" * 64
)


def result(status: str = "success", *severities: Severity) -> ScanResult:
    findings = [Finding(qid=str(i), title=f"f{i}", severity=s) for i, s in enumerate(severities)]
    return ScanResult(target=TARGET, backend="test", status=status).with_findings(findings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("threshold", "severities", "expected"),
    [
        ("CRITICAL", (Severity.CRITICAL,), True),
        ("CRITICAL", (Severity.HIGH, Severity.HIGH), False),
        ("HIGH", (Severity.HIGH,), True),
        ("HIGH", (Severity.CRITICAL,), True),
        ("HIGH", (Severity.MEDIUM, Severity.LOW, Severity.INFO), False),
        ("MEDIUM", (Severity.MEDIUM,), True),
        ("MEDIUM", (Severity.LOW,), False),
        ("LOW", (Severity.LOW,), True),
        ("LOW", (Severity.INFO,), False),
        ("LOW", (), False),
        ("NONE", (Severity.CRITICAL,) * 5, False),
    ],
)
def test_complete_scans_notify_at_or_above_the_threshold(threshold, severities, expected):
    decision = decide(result("success", *severities), threshold)
    assert decision.notify is expected
    assert bool(decision) is expected
    assert decision.kind == ("findings" if expected else None)


@pytest.mark.parametrize("status", ["failed", "timeout", "partial"])
@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_incomplete_scans_always_notify_even_with_threshold_none(status, threshold):
    decision = decide(result(status), threshold)
    assert decision.notify
    assert decision.kind == "failure"
    assert status in decision.reason


def test_policy_audit_follows_the_threshold_but_policy_deny_always_notifies():
    assert not decide(result("policy_audit", Severity.LOW), "HIGH").notify
    assert decide(result("policy_audit", Severity.HIGH), "HIGH").kind == "findings"
    deny = decide(result("policy_deny"), "NONE")
    assert deny.notify
    assert deny.kind == "policy_deny"
    # a deny with findings over the threshold is reported as findings (the richer message)
    assert decide(result("policy_deny", Severity.CRITICAL), "HIGH").kind == "findings"


def test_reason_names_the_count_and_threshold():
    decision = decide(result("success", Severity.CRITICAL, Severity.HIGH, Severity.LOW), "HIGH")
    assert decision.reason == "2 finding(s) at or above HIGH"
    assert decide(result("success", Severity.LOW), "NONE").reason.startswith("threshold NONE")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("high", "HIGH"), (" Critical ", "CRITICAL"), ("none", "NONE"), ("", "HIGH"), (None, "HIGH")],
)
def test_parse_threshold(raw, expected):
    assert parse_threshold(raw) == expected


@pytest.mark.parametrize("raw", ["INFO", "severe", "4", "HIGHEST"])
def test_parse_threshold_rejects_unknown_values_naming_the_setting(raw):
    with pytest.raises(
        ConfigError, match="QSCAN_SEVERITY_THRESHOLD must be one of CRITICAL, HIGH, MEDIUM, LOW, NONE"
    ):
        parse_threshold(raw)


@pytest.mark.parametrize("status", ["failed", "timeout", "partial"])
def test_a_failed_attempt_that_will_be_retried_does_not_notify(status):
    assert not decide(result(status), "HIGH", final_attempt=False)
    assert decide(result(status), "HIGH", final_attempt=True).kind == "failure"


def test_final_attempt_does_not_change_complete_scans():
    assert decide(result("success", Severity.HIGH), "HIGH", final_attempt=False).kind == "findings"
