"""What the handlers' cold start creates: the clients every invocation needs, not the SNS client, which only a
notification needs (issue 10 item 20: lazy-load what a single invocation does not need)."""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path
from typing import Any

import pytest
from qscan.aws import sessions
from qscan.notify import sns
from qscan.notify.sns import SnsPublisher

from tests.doubles.fake_qscanner import WRAPPER

HANDLERS = Path(__file__).resolve().parents[2] / "handlers" / "aws"
TOPIC = "arn:aws:sns:us-east-1:123456789012:qscan-alerts"


@pytest.fixture
def created(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The services whose boto3 clients get created (stand-ins: creating a client makes no AWS call either)."""
    services: list[str] = []

    def record(service: str, **kwargs: Any) -> object:
        services.append(service)
        return object()

    monkeypatch.setattr(sessions, "boto3_client", record)
    monkeypatch.setattr(sns, "_clients", {})
    return services


@pytest.mark.parametrize("platform", ["ecr", "lambda"])
def test_the_cold_start_creates_no_sns_client(
    platform: str, created: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key, value in {
        "AWS_REGION": "us-east-1",
        "QSCAN_DEDUPE_TABLE": "qscan-dedupe",
        "QSCAN_RESULTS_BUCKET": "qscan-results-test",
        "QSCAN_ALERT_TOPIC_ARN": TOPIC,
        "QSCANNER_PATH": str(WRAPPER),
        "QUALYS_POD": "US1",
        "QUALYS_ACCESS_TOKEN": "cold-start-token-not-secret",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("QSCAN_QUALYS_SECRET_ARN", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    spec = importlib.util.spec_from_file_location(
        f"cold_{uuid.uuid4().hex}", HANDLERS / platform / "handler.py"
    )
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))  # the cold start
    assert {"dynamodb", "s3"} <= set(created)
    assert "sns" not in created


def test_the_sns_client_is_created_on_first_use_and_then_reused(created: list[str]) -> None:
    publisher = SnsPublisher(TOPIC, endpoint_url="http://127.0.0.1:5999")
    assert created == []
    client = publisher.client
    assert (
        publisher.client is client
        and SnsPublisher(TOPIC, endpoint_url="http://127.0.0.1:5999").client is client
    )
    assert created == ["sns"]
