"""SARIF 2.1 parsing: severity precedence, field sources, malformed documents."""

from __future__ import annotations

import json
from typing import Any

import pytest
from qscan.results.model import Severity
from qscan.scanners.sarif import SarifError, parse_sarif, severity_of


def doc(results: list[dict[str, Any]], rules: list[dict[str, Any]] | None = None) -> str:
    run: dict[str, Any] = {"tool": {"driver": {"name": "qscanner", "rules": rules or []}}, "results": results}
    return json.dumps({"version": "2.1.0", "runs": [run]})


def test_result_severity_wins_over_rule_and_level() -> None:
    text = doc(
        [{"ruleId": "1", "ruleIndex": 0, "level": "note", "properties": {"severity": 5}}],
        [{"id": "1", "properties": {"severity": 2}}],
    )
    assert parse_sarif(text)[0].severity is Severity.CRITICAL


def test_rule_severity_when_result_has_none() -> None:
    text = doc(
        [{"ruleId": "Q1", "level": "note"}], [{"id": "Q0"}, {"id": "Q1", "properties": {"severity": "4"}}]
    )
    assert parse_sarif(text)[0].severity is Severity.HIGH


def test_rule_found_by_index_before_id() -> None:
    rules = [{"id": "A", "properties": {"severity": 1}}, {"id": "B", "properties": {"severity": 3}}]
    assert parse_sarif(doc([{"ruleId": "B", "ruleIndex": 0}], rules))[0].severity is Severity.INFO


@pytest.mark.parametrize(
    ("level", "expected"),
    [("error", Severity.HIGH), ("warning", Severity.MEDIUM), ("note", Severity.LOW), ("none", Severity.INFO)],
)
def test_level_is_last_resort(level: str, expected: Severity) -> None:
    assert parse_sarif(doc([{"ruleId": "9", "level": level}]))[0].severity is expected


def test_invalid_severity_falls_through_to_next_source() -> None:
    text = doc(
        [{"ruleId": "1", "level": "error", "properties": {"severity": 9}}],
        [{"id": "1", "properties": {"severity": "banana"}}],
    )
    assert parse_sarif(text)[0].severity is Severity.HIGH


def test_missing_level_uses_rule_default_then_warning() -> None:
    rules = [{"id": "1", "defaultConfiguration": {"level": "error"}}]
    assert parse_sarif(doc([{"ruleId": "1"}], rules))[0].severity is Severity.HIGH
    assert parse_sarif(doc([{"ruleId": "2"}]))[0].severity is Severity.MEDIUM


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5, Severity.CRITICAL), ("3", Severity.MEDIUM), (2.0, Severity.LOW), ("Critical", Severity.CRITICAL),
     ("informational", Severity.INFO), (0, None), (6, None), (2.5, None), (True, None), (None, None), ("x", None)],
)  # fmt: skip
def test_severity_values(value: Any, expected: Severity | None) -> None:
    assert severity_of(value) is expected


def test_fields_from_result_then_rule() -> None:
    text = doc(
        [
            {
                "ruleId": "376543",
                "ruleIndex": 0,
                "message": {"text": "openssl 3.1.0"},
                "properties": {
                    "severity": 4,
                    "cves": ["CVE-2024-0001", "CVE-2024-0002", "CVE-2024-0001"],
                    "packageName": "openssl",
                    "installedVersion": "3.1.0",
                    "fixedVersion": "3.1.5",
                    "cvssScore": "7.5",
                },
            }
        ],
        [{"id": "376543", "shortDescription": {"text": "OpenSSL flaw"}, "properties": {"qid": 376543}}],
    )
    (finding,) = parse_sarif(text)
    assert finding.qid == "376543"
    assert finding.title == "OpenSSL flaw"
    assert finding.cves == ("CVE-2024-0001", "CVE-2024-0002")
    assert (finding.package_name, finding.installed_version, finding.fixed_version) == (
        "openssl",
        "3.1.0",
        "3.1.5",
    )
    assert finding.cvss_score == 7.5


def test_cve_string_and_bad_score() -> None:
    text = doc([{"ruleId": "1", "properties": {"cves": "CVE-1, CVE-2", "cvssScore": 42}}])
    (finding,) = parse_sarif(text)
    assert finding.cves == ("CVE-1", "CVE-2")
    assert finding.cvss_score is None
    assert finding.title is None


def test_multiple_runs_and_empty_results() -> None:
    data = {"version": "2.1.0", "runs": [{"results": []}, {"results": [{"ruleId": "7"}]}, {"results": None}]}
    assert [f.qid for f in parse_sarif(json.dumps(data))] == ["7"]


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[]",
        json.dumps({"version": "2.1.0"}),
        json.dumps({"version": "1.0.0", "runs": []}),
        json.dumps({"runs": ["x"]}),
        json.dumps({"runs": [{"results": {"a": 1}}]}),
        json.dumps({"runs": [{"results": [3]}]}),
        json.dumps({"runs": [{"tool": {"driver": {"rules": "x"}}, "results": []}]}),
        b"\xff\xfe",
    ],
)
def test_malformed_documents_raise(text: str | bytes) -> None:
    with pytest.raises(SarifError):
        parse_sarif(text)
