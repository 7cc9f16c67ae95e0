"""qscan.aws.lambdas.tags: result tags written to a moto function and read back; failures never raise."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from qscan.aws.lambdas import TAG_FAILURE_METRIC, TAG_KEYS, sanitize_tag_value, tag_function, tag_values
from qscan.metrics import EmfMetrics
from qscan.results.model import Finding, ScanResult, Severity
from qscan.target import ScanTarget

from tests.unit.test_lambda_resolve import REGION, aws, create_zip  # noqa: F401 - `aws` is a fixture

ARN = f"arn:aws:lambda:{REGION}:123456789012:function:tagged"
# Lambda's documented tag value rule: up to 256 of letters, digits, spaces and + - = . _ : / @
TAG_VALUE_RULE = re.compile(r"[A-Za-z0-9 +\-=._:/@]{0,256}")
TARGET = ScanTarget(
    kind="function", platform="lambda", function_arn=ARN, code_sha256="a" * 64, package_type="Zip"
)


def finding(severity: Severity, qid: str) -> Finding:
    return Finding(qid=qid, title=f"finding {qid}", severity=severity)


def result(status: str = "success", **kwargs: Any) -> ScanResult:
    scan = ScanResult(target=TARGET, backend="fake", status=status, **kwargs)  # type: ignore[arg-type]
    return scan.with_findings(
        [
            finding(Severity.CRITICAL, "1"),
            finding(Severity.HIGH, "2"),
            finding(Severity.HIGH, "3"),
            finding(Severity.LOW, "4"),
        ]
    )


class Sink:
    def __init__(self) -> None:
        self.added: list[str] = []

    def add(self, name: str, value: float = 1, unit: Any = "Count") -> None:
        self.added.append(name)


def test_tags_are_written_and_read_back(aws: Any) -> None:  # noqa: F811
    create_zip(aws, "tagged")
    scan = result(finished_at="2025-03-04T05:06:07.123456Z")
    assert tag_function(aws, ARN + ":$LATEST", scan) is True  # qualified ARN: the function itself is tagged
    tags = aws.list_tags(Resource=ARN)["Tags"]
    assert tags == {
        "QualysScanStatus": "success",
        "QualysScanTime": "2025-03-04T05:06:07Z",
        "QualysCritical": "1",
        "QualysHigh": "2",
    }


def test_incomplete_scan_never_looks_clean(aws: Any) -> None:  # noqa: F811
    create_zip(aws, "tagged")
    failed = ScanResult(target=TARGET, backend="fake", status="failed", reason="exit 40")
    assert tag_function(aws, ARN, failed) is True
    tags = aws.list_tags(Resource=ARN)["Tags"]
    assert tags["QualysScanStatus"] == "failed"
    assert tags["QualysCritical"] == tags["QualysHigh"] == "unknown"


def test_tag_failure_is_logged_counted_and_never_raised(aws: Any, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    sink = Sink()
    assert tag_function(aws, ARN, result(), metrics=sink) is False  # the function does not exist
    assert sink.added == [TAG_FAILURE_METRIC]
    assert "could not tag" in caplog.text


def test_throttled_or_denied_tagging_does_not_raise() -> None:
    client = boto3.client("lambda", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.add_client_error("tag_resource", service_error_code="AccessDeniedException", http_status_code=403)
    stubber.add_client_error(
        "tag_resource", service_error_code="TooManyRequestsException", http_status_code=429
    )
    metrics = EmfMetrics("qscan", {"service": "test"})
    with stubber:
        assert tag_function(client, ARN, result(), metrics=metrics) is False
        assert tag_function(client, ARN, result(), metrics=metrics) is False
    assert metrics.snapshot()[TAG_FAILURE_METRIC] == 2


def test_unexpected_client_errors_and_bad_arns_do_not_raise() -> None:
    class Broken:
        def tag_resource(self, **kwargs: Any) -> None:
            raise RuntimeError("boom")

    sink = Sink()
    assert tag_function(Broken(), ARN, result(), metrics=sink) is False
    assert tag_function(Broken(), "not-an-arn", result(), metrics=sink) is False
    assert sink.added == [TAG_FAILURE_METRIC, TAG_FAILURE_METRIC]


def test_tag_values_follow_lambda_rules_and_carry_no_free_text() -> None:
    scan = ScanResult(
        target=TARGET,
        backend="fake",
        status="partial",
        reason="token=SECRET-VALUE leaked in a reason",
        logs={"stderr": "password=hunter2"},
        finished_at="not a time",
    )
    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    values = tag_values(scan, now=now)
    assert set(values) == set(TAG_KEYS)
    assert values["QualysScanTime"] == "2025-01-02T03:04:05Z"  # unparsable time -> now
    for value in values.values():
        assert TAG_VALUE_RULE.fullmatch(value)
        assert "SECRET" not in value and "hunter2" not in value


def test_sanitize_tag_value() -> None:
    assert sanitize_tag_value("ok value:/=+-@._") == "ok value:/=+-@._"
    assert sanitize_tag_value("a;b\nc\u00e9") == "a_b_c_"
    assert len(sanitize_tag_value("x" * 1000)) == 256
