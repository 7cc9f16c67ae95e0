"""qscan.aws.sqs_handler's request path (the bulk-scan request of the Lambda scanner), with stand-ins.

Request records are recognized by the handler's `RequestHandler.matches`, run instead of being normalized,
counted under `fanned_out` (their scan requests under `enqueued`), and fail only their own record when `run`
raises; records the request handler does not match are normalized as before.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qscan.attempts import Attempt
from qscan.aws.sqs_handler import RequestHandler, SqsScanHandler, balance
from qscan.errors import ConfigError, TransientError
from qscan.metrics import DASHBOARD_METRICS, EmfMetrics
from qscan.pipeline import Outcome
from qscan.results.model import ScanResult
from qscan.target import ScanTarget

from tests.harness.handler_world import emf_series

KINDS = ("request_ok", "request_config", "request_transient", "request_bug", "scan", "not_json", "other")


def body_for(index: int, kind: str) -> str:
    if kind.startswith("request"):
        return json.dumps({"source": "test.request", "detail": {"kind": kind, "count": index}})
    if kind == "not_json":
        return "{not json"
    if kind == "other":
        return json.dumps({"source": "somebody.else", "detail-type": "Other"})
    return json.dumps(
        {
            "id": f"e-{index}",
            "source": "aws.ecr",
            "detail-type": "ECR Image Action",
            "account": "123456789012",
            "region": "us-east-1",
            "detail": {
                "result": "SUCCESS",
                "repository-name": "team/app",
                "image-digest": f"sha256:{index:064x}",
                "action-type": "PUSH",
            },
        }
    )


class Requests:
    def __init__(self) -> None:
        self.ran: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = []

    def matches(self, body: Mapping[str, Any]) -> bool:
        return body.get("source") == "test.request"

    def run(self, body: Mapping[str, Any], record: Mapping[str, Any]) -> int:
        self.ran.append((body, record))
        kind = body["detail"]["kind"]
        if kind == "request_config":
            raise ConfigError("queue unusable")
        if kind == "request_transient":
            raise TransientError("2 scan request(s) not enqueued")
        if kind == "request_bug":
            raise RuntimeError("bug")
        return int(body["detail"]["count"]) + 1


class Pipeline:
    def process(self, target: ScanTarget, owner: str, attempt: Attempt | None = None) -> Outcome:
        return Outcome(target, "scanned", ScanResult(target=target, backend="qscanner", status="success"))


def run(kinds: list[str]) -> tuple[dict[str, Any], dict[str, Any], Requests, dict[str, Any]]:
    requests = Requests()
    out = io.StringIO()
    metrics = EmfMetrics("qscan", {"service": "test"}, declared=DASHBOARD_METRICS, stream=out)
    pipeline = Pipeline()
    handler = SqsScanHandler(
        lambda: pipeline,  # type: ignore[arg-type,return-value]
        lambda target: target,
        metrics,
        requests=RequestHandler("test request", requests.matches, requests.run),
    )
    captured: list[Any] = []
    original = handler._report

    def report(accounting: Any, failures: int) -> None:
        captured.append(accounting)
        original(accounting, failures)

    handler._report = report  # type: ignore[method-assign]
    records = [
        {"messageId": f"msg-{i}", "body": body_for(i, kind), "eventSource": "aws:sqs"}
        for i, kind in enumerate(kinds)
    ]
    response = handler.handle({"Records": records})
    accounting = captured[0]
    assert balance(accounting) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return response, accounting.to_dict(), requests, emf_series(lines)  # the service series: every line


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(KINDS), min_size=1, max_size=10))
def test_requests_are_counted_and_fail_only_their_own_record(kinds: list[str]) -> None:
    response, accounting, requests, emf = run(kinds)
    failing = {"request_config", "request_transient", "request_bug"}
    assert response == {
        "batchItemFailures": [{"itemIdentifier": f"msg-{i}"} for i, k in enumerate(kinds) if k in failing]
    }
    assert accounting["fanned_out"] == kinds.count("request_ok")
    assert accounting["enqueued"] == sum(i + 1 for i, k in enumerate(kinds) if k == "request_ok")
    assert accounting["failed"] == sum(k in failing for k in kinds)
    assert accounting["scanned"] == kinds.count("scan")
    assert sum(accounting["skipped"].values()) == kinds.count("not_json") + kinds.count("other")
    assert len(requests.ran) == sum(k.startswith("request") for k in kinds)
    assert emf["ScansFailed"] == 0  # a failed request is not a failed scan
    assert emf["EventsSkipped"] == kinds.count("not_json") + kinds.count("other")


def test_a_failed_request_is_logged_with_its_reason(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    run(["request_config", "request_bug"])
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors[0].getMessage() == "test request failed, the message is retried: queue unusable"
    assert errors[1].getMessage().startswith("test request failed unexpectedly")
    line = next(r for r in caplog.records if r.getMessage().startswith("batch accounting"))
    assert line.getMessage().endswith("+ 2 failed + 0 dead-lettered + 0 deferred + 0 fanned out")


def test_the_request_sees_the_sqs_record() -> None:
    _, _, requests, _ = run(["request_ok"])
    ((body, record),) = requests.ran
    assert body["detail"]["kind"] == "request_ok" and record["messageId"] == "msg-0"
