"""qscan.metrics: the EMF line shape CloudWatch extracts, sums, declared zeros and limits."""

from __future__ import annotations

import io
import json

import pytest
from qscan.config import Settings
from qscan.errors import ConfigError
from qscan.metrics import DASHBOARD_METRICS, MAX_METRICS, EmfMetrics, validate_namespace


def make(stream: io.StringIO, **kwargs: object) -> EmfMetrics:
    return EmfMetrics("qscan", {"service": "qscan-ecr"}, stream=stream, clock=lambda: 1700000000.25, **kwargs)  # type: ignore[arg-type]


def test_flush_writes_one_emf_line_with_summed_values() -> None:
    out = io.StringIO()
    metrics = make(out)
    metrics.add("ScansStarted")
    metrics.add("ScansStarted", 2)
    metrics.add("ScanSeconds", 1.5, unit="Seconds")
    (document,) = metrics.flush()
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    parsed = json.loads(lines[0])
    assert parsed == document
    assert parsed["_aws"] == {
        "Timestamp": 1700000000250,
        "CloudWatchMetrics": [
            {
                "Namespace": "qscan",
                "Dimensions": [["service"]],
                "Metrics": [
                    {"Name": "ScansStarted", "Unit": "Count"},
                    {"Name": "ScanSeconds", "Unit": "Seconds"},
                ],
            }
        ],
    }
    assert parsed["service"] == "qscan-ecr"
    assert parsed["ScansStarted"] == 3 and isinstance(parsed["ScansStarted"], int)
    assert parsed["ScanSeconds"] == 1.5


def test_flush_resets_and_declared_metrics_are_always_emitted() -> None:
    out = io.StringIO()
    metrics = make(out, declared=DASHBOARD_METRICS)
    metrics.add("ScansFailed")
    (first,) = metrics.flush()
    (second,) = metrics.flush()
    assert first["ScansFailed"] == 1 and second["ScansFailed"] == 0
    assert [m["Name"] for m in second["_aws"]["CloudWatchMetrics"][0]["Metrics"]] == list(DASHBOARD_METRICS)
    assert all(second[name] == 0 for name in DASHBOARD_METRICS)


def test_nothing_to_emit_writes_nothing() -> None:
    out = io.StringIO()
    assert make(out).flush() == []
    assert out.getvalue() == ""


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True, "1"])
def test_rejects_non_finite_or_non_numeric_values(value: object) -> None:
    with pytest.raises(ValueError, match="finite number"):
        make(io.StringIO()).add("ScansStarted", value)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["", "has space", "service", "_aws", "x" * 256])
def test_rejects_bad_metric_names(name: str) -> None:
    with pytest.raises(ValueError, match="invalid metric name"):
        make(io.StringIO()).add(name)


def test_metric_count_is_bounded() -> None:
    metrics = make(io.StringIO())
    for index in range(MAX_METRICS):
        metrics.add(f"M{index}")
    with pytest.raises(ValueError, match="at most 100"):
        metrics.add("OneTooMany")


@pytest.mark.parametrize("namespace", ["AWS/Lambda", "", "white space", "x" * 256])
def test_namespace_rules(namespace: str) -> None:
    with pytest.raises(ConfigError, match="QSCAN_METRICS_NAMESPACE"):
        validate_namespace(namespace)


def test_settings_read_namespace_and_service() -> None:
    settings = Settings.from_env({"QSCAN_METRICS_NAMESPACE": "secops/qscan", "QSCAN_SERVICE_NAME": "sec-ecr"})
    assert (settings.metrics_namespace, settings.service_name) == ("secops/qscan", "sec-ecr")
    assert Settings.from_env({}).metrics_namespace == "qscan"
    with pytest.raises(ConfigError, match="QSCAN_METRICS_NAMESPACE"):
        Settings.from_env({"QSCAN_METRICS_NAMESPACE": "AWS/ECR"})


SPOKE, OTHER = "222233334444", "555566667777"


def test_values_of_an_account_get_their_own_line_with_both_dimension_sets() -> None:
    out = io.StringIO()
    metrics = make(out, declared=DASHBOARD_METRICS)
    metrics.add("ScansSucceeded", account=SPOKE)
    metrics.add("ScansSucceeded", 2, account=OTHER)
    metrics.add("ScansFailed", account=SPOKE)
    metrics.add("EventsSkipped")  # no account known (an unreadable event)
    documents = metrics.flush()
    assert [json.loads(line) for line in out.getvalue().splitlines()] == documents
    plain, spoke, other = documents  # the account-less line first, then by account
    assert "account" not in plain
    assert plain["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert (plain["EventsSkipped"], plain["ScansSucceeded"]) == (1, 0)
    for document, account in ((spoke, SPOKE), (other, OTHER)):
        directive = document["_aws"]["CloudWatchMetrics"][0]
        assert directive["Dimensions"] == [["service"], ["service", "account"]]
        assert (document["service"], document["account"]) == ("qscan-ecr", account)
        # every declared metric in every line: each account's series is continuous
        assert [m["Name"] for m in directive["Metrics"]] == list(DASHBOARD_METRICS)
    assert (spoke["ScansSucceeded"], spoke["ScansFailed"], spoke["EventsSkipped"]) == (1, 1, 0)
    assert (other["ScansSucceeded"], other["ScansFailed"]) == (2, 0)
    # the service series (every line) sums to the totals
    assert sum(d["ScansSucceeded"] for d in documents) == 3
    assert metrics.flush() == [dict(plain, EventsSkipped=0)]  # reset: only the declared zeros, account-less


def test_snapshot_sums_over_accounts_or_reads_one() -> None:
    metrics = make(io.StringIO(), declared=("ScansFailed",))
    metrics.add("ScansSucceeded", account=SPOKE)
    metrics.add("ScansSucceeded", 2)
    assert metrics.snapshot() == {"ScansFailed": 0, "ScansSucceeded": 3}
    assert metrics.snapshot(SPOKE) == {"ScansFailed": 0, "ScansSucceeded": 1}


def test_only_accounts_seen_get_a_line() -> None:
    metrics = make(io.StringIO(), declared=DASHBOARD_METRICS)
    metrics.add("ScansStarted", account=SPOKE)
    (document,) = metrics.flush()  # no account-less line: the spoke's line carries the service series
    assert document["account"] == SPOKE and document["ScansStarted"] == 1


@pytest.mark.parametrize("account", ["", "x" * 1025, "bad\nvalue"])
def test_rejects_bad_account_values(account: str) -> None:
    with pytest.raises(ConfigError, match="dimension account"):
        make(io.StringIO()).add("ScansStarted", account=account)


def test_account_is_not_a_fixed_dimension_or_a_metric_name() -> None:
    with pytest.raises(ValueError, match="per value"):
        EmfMetrics("qscan", {"service": "s", "account": SPOKE})
    with pytest.raises(ValueError, match="invalid metric name"):
        make(io.StringIO()).add("account")
