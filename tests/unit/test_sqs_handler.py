"""qscan.aws.sqs_handler: per-record isolation, the partial batch response and an accounting that always closes.

The pipeline and resolver are stand-ins whose behaviour is chosen per record (by digest); the records are real
SQS records with EventBridge bodies going through the real normalizers.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from qscan.attempts import Attempt
from qscan.aws.sqs_handler import SqsScanHandler, balance
from qscan.aws.sqs_retry import SqsRetry
from qscan.errors import ConfigError, InvalidEvent, TransientError, UnsupportedEvent
from qscan.metrics import DASHBOARD_METRICS, EmfMetrics
from qscan.pipeline import Accounting, Outcome, ScanFailed
from qscan.results.model import ScanResult
from qscan.target import ScanTarget

from tests.harness.handler_world import create_queues, lambda_records, receive_all

BEHAVIOURS = (
    "scanned",
    "deduplicated",
    "cached",
    "scan_failed",
    "transient",
    "config",
    "unexpected",
    "body_invalid",
    "body_unsupported",
    "resolve_invalid",
    "resolve_unsupported",
    "no_message_id",
)
FAILING = {"scan_failed", "transient", "config", "unexpected"}
SKIPPED = {"body_invalid", "body_unsupported", "resolve_invalid", "resolve_unsupported", "no_message_id"}
ACCOUNTS = ("123456789012", "222233334444")  # the hub's own account and a spoke's (records alternate)
NO_ACCOUNT = {"body_invalid", "no_message_id"}  # no readable event, so no account


def digest(index: int) -> str:
    return f"sha256:{index:064x}"


def make_record(index: int, behaviour: str) -> dict[str, Any]:
    detail = {
        "result": "SUCCESS",
        "repository-name": "team/app",
        "image-digest": digest(index),
        "action-type": "DELETE" if behaviour == "body_unsupported" else "PUSH",
    }
    body = (
        "[]"
        if behaviour == "body_invalid"
        else json.dumps(
            {
                "id": f"e-{index}",
                "source": "aws.ecr",
                "detail-type": "ECR Image Action",
                "account": ACCOUNTS[index % 2],
                "region": "us-east-1",
                "detail": detail,
            }
        )
    )
    record: dict[str, Any] = {"body": body, "eventSource": "aws:sqs"}
    if behaviour != "no_message_id":
        record["messageId"] = f"msg-{index}"
    return record


class Stage:
    """Pipeline and resolver stand-ins driven by a digest -> behaviour map."""

    def __init__(self, behaviours: dict[str, str]) -> None:
        self.behaviours = behaviours
        self.owners: list[str] = []

    def resolve(self, target: ScanTarget) -> ScanTarget:
        behaviour = self.behaviours[target.digest or ""]
        if behaviour == "resolve_invalid":
            raise InvalidEvent("tag gone")
        if behaviour == "resolve_unsupported":
            raise UnsupportedEvent("not ours")
        return target

    def process(self, target: ScanTarget, owner: str, attempt: Attempt | None = None) -> Outcome:
        self.owners.append(owner)
        behaviour = self.behaviours[target.digest or ""]
        if behaviour == "scan_failed":  # as qscan.pipeline decides finality
            raise ScanFailed(
                ScanResult(target=target, backend="qscanner", status="partial", reason="exit 40"),
                final=attempt is None or attempt.last,
            )
        if behaviour == "deterministic":
            raise ScanFailed(
                ScanResult(target=target, backend="qscanner", status="failed", reason="INVALID_PARAMETER"),
                final=attempt is None or attempt.last or attempt.fail_fast,
                deterministic=True,
            )
        if behaviour == "transient":
            raise TransientError("throttled")
        if behaviour == "config":
            raise ConfigError("QSCAN_X is wrong")
        if behaviour == "unexpected":
            raise RuntimeError("bug")
        if behaviour == "scanned":
            return Outcome(target, "scanned", ScanResult(target=target, backend="qscanner", status="success"))
        return Outcome(target, behaviour)  # type: ignore[arg-type]


def run(behaviours: list[str]) -> tuple[dict[str, Any], Accounting, dict[str, Any], Stage]:
    stage = Stage({digest(i): b for i, b in enumerate(behaviours)})
    out = io.StringIO()
    metrics = EmfMetrics("qscan", {"service": "test"}, declared=DASHBOARD_METRICS, stream=out)
    handler = SqsScanHandler(lambda: stage, stage.resolve, metrics)  # type: ignore[arg-type,return-value]
    captured: list[Accounting] = []
    original = handler._report  # observe the accounting the handler logs

    def report(accounting: Accounting, failures: int) -> None:
        captured.append(accounting)
        original(accounting, failures)

    handler._report = report  # type: ignore[method-assign]
    response = handler.handle({"Records": [make_record(i, b) for i, b in enumerate(behaviours)]})
    return response, captured[0], emf_lines(out.getvalue()), stage


def emf_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def service_series(lines: list[dict[str, Any]]) -> dict[str, int]:
    """What CloudWatch sums into the `service` series: every line's values (each line carries ["service"])."""
    totals: dict[str, int] = {}
    for line in lines:
        assert ["service"] in line["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
        for name in DASHBOARD_METRICS:
            totals[name] = totals.get(name, 0) + line[name]
    return totals


def account_series(lines: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """The `service` + `account` series: one line per account, with both dimension sets."""
    series: dict[str, dict[str, int]] = {}
    for line in lines:
        if "account" in line:
            assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"], ["service", "account"]]
            assert line["account"] not in series  # one line per account
            series[line["account"]] = {name: line[name] for name in DASHBOARD_METRICS}
    return series


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(BEHAVIOURS), min_size=1, max_size=12))
def test_accounting_always_closes_and_only_failures_are_reported(behaviours: list[str]) -> None:
    response, accounting, lines, stage = run(behaviours)
    emf = service_series(lines)
    assert balance(accounting) == 0
    assert accounting.events == len(behaviours)
    expected_failures = [{"itemIdentifier": f"msg-{i}"} for i, b in enumerate(behaviours) if b in FAILING]
    assert response == {"batchItemFailures": expected_failures}
    assert accounting.failed == len(expected_failures)
    assert accounting.scanned == behaviours.count("scanned")
    assert accounting.cached == behaviours.count("cached")
    assert accounting.deduplicated == behaviours.count("deduplicated")
    assert sum(accounting.skipped.values()) == sum(b in SKIPPED for b in behaviours)
    # claim owners are the SQS message ids
    assert all(owner.startswith("msg-") for owner in stage.owners)
    assert emf["ScansSucceeded"] == behaviours.count("scanned")
    assert emf["ScansFailed"] == len(expected_failures)
    assert emf["ScansDeduplicated"] == behaviours.count("cached") + behaviours.count("deduplicated")
    assert emf["EventsSkipped"] == sum(b in SKIPPED for b in behaviours)
    # per account: the accounting closes for each, and its metric series counts its own records only
    per_account = account_series(lines)
    for number, account in enumerate(ACCOUNTS):
        mine = [b for i, b in enumerate(behaviours) if i % 2 == number and b not in NO_ACCOUNT]
        tally = accounting.to_dict()["accounts"].get(account, {})  # type: ignore[union-attr]
        assert tally.get("events", 0) == len(mine)
        assert sum(n for bucket, n in tally.items() if bucket != "events") == len(mine)
        assert tally.get("scanned", 0) == mine.count("scanned")
        assert tally.get("failed", 0) == sum(b in FAILING for b in mine)
        if not mine:
            assert account not in per_account
            continue
        assert per_account[account]["ScansSucceeded"] == mine.count("scanned")
        assert per_account[account]["ScansFailed"] == sum(b in FAILING for b in mine)
        assert per_account[account]["EventsSkipped"] == sum(b in SKIPPED for b in mine)
    assert sum(t["events"] for t in accounting.accounts.values()) == sum(
        b not in NO_ACCOUNT for b in behaviours
    )


def test_failures_are_logged_at_error_and_skips_by_kind(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    run(["unexpected", "config", "body_invalid", "body_unsupported"])
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert any(r.exc_text or r.exc_info for r in errors)  # the unexpected one carries its traceback
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(m.startswith("skipped invalid event") for m in warnings)
    assert not any("DELETE" in m for m in warnings)  # unsupported is not a warning


class Context:
    """A Lambda context whose remaining time is scripted."""

    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:qscan-ecr-scanner"
    aws_request_id = "c0ffee00-0000-4000-8000-000000000002"

    def __init__(self, remaining: list[int]) -> None:
        self.remaining = remaining

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining.pop(0)


def test_records_are_deferred_when_time_runs_out_but_the_first_always_runs() -> None:
    stage = Stage({digest(i): "scanned" for i in range(3)})
    metrics = EmfMetrics("qscan", {"service": "test"}, stream=io.StringIO())
    handler = SqsScanHandler(lambda: stage, stage.resolve, metrics, reserve_ms=60_000)  # type: ignore[arg-type,return-value]
    records = [make_record(i, "scanned") for i in range(3)]
    # the first record runs without asking; 120 s are left before the second, 5 s before the third
    response = handler.handle({"Records": records}, Context([120_000, 5_000]))
    assert response == {"batchItemFailures": [{"itemIdentifier": "msg-2"}]}
    assert stage.owners == ["msg-0", "msg-1"]


def test_event_that_is_not_a_batch_is_skipped() -> None:
    stage = Stage({})
    metrics = EmfMetrics("qscan", {"service": "test"}, stream=io.StringIO())
    handler = SqsScanHandler(lambda: stage, stage.resolve, metrics)  # type: ignore[arg-type,return-value]
    assert handler.handle(["not", "a", "batch"]) == {"batchItemFailures": []}
    assert stage.owners == []


# ---------------------------------------------------------------------------------------------- with SqsRetry


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def test_with_retry_failures_are_settled_and_the_accounting_still_closes(sqs: Any) -> None:
    queues = create_queues(sqs, "scan")
    behaviours = ["scanned", "scan_failed", "deterministic", "transient", "scanned"]
    for i, behaviour in enumerate(behaviours):
        sqs.send_message(QueueUrl=queues.url, MessageBody=make_record(i, behaviour)["body"])
    records = sorted(lambda_records(receive_all(sqs, queues.url), queues.arn), key=lambda r: r["body"])
    by_digest = {json.loads(r["body"])["detail"]["image-digest"]: r for r in records}
    by_digest[digest(3)]["attributes"]["ApproximateReceiveCount"] = "3"  # its last attempt
    stage = Stage({digest(i): b for i, b in enumerate(behaviours)})
    out = io.StringIO()
    metrics = EmfMetrics("qscan", {"service": "test"}, declared=DASHBOARD_METRICS, stream=out)
    retry = SqsRetry(lambda region: sqs, max_receive_count=3, dead_letter_queue_arn=queues.dlq_arn)
    handler = SqsScanHandler(lambda: stage, stage.resolve, metrics, retry=retry, reserve_ms=60_000)  # type: ignore[arg-type,return-value]
    captured: list[Accounting] = []
    original = handler._report

    def report(accounting: Accounting, failures: int) -> None:
        captured.append(accounting)
        original(accounting, failures)

    handler._report = report  # type: ignore[method-assign]
    ordered = [by_digest[digest(i)] for i in range(len(behaviours))]
    # time runs out before the last record: it is deferred (sent again), not failed
    response = handler.handle({"Records": ordered}, Context([120_000, 120_000, 120_000, 5_000]))

    assert response == {"batchItemFailures": [{"itemIdentifier": ordered[1]["messageId"]}]}
    (accounting,) = captured
    assert balance(accounting) == 0
    assert (accounting.scanned, accounting.failed, accounting.dead_lettered, accounting.deferred) == (
        1,
        1,
        2,
        1,
    )
    emf = service_series(emf_lines(out.getvalue()))
    assert (emf["ScanAttemptsFailed"], emf["ScansFailed"], emf["EventsDeadLettered"]) == (3, 2, 2)
    # records 0, 2, 4 are of the own account, 1 and 3 of the spoke: deterministic (2) and transient at its last (3)
    spoke = account_series(emf_lines(out.getvalue()))[ACCOUNTS[1]]
    assert (spoke["ScanAttemptsFailed"], spoke["ScansFailed"], spoke["EventsDeadLettered"]) == (2, 1, 1)
    assert accounting.accounts[ACCOUNTS[1]] == {"events": 2, "failed": 1, "dead_lettered": 1}
    dead = receive_all(sqs, queues.dlq_url)
    failures = sorted(m["MessageAttributes"]["qscan-failure"]["StringValue"] for m in dead)
    assert failures == ["deterministic", "exhausted"]
    (copy,) = receive_all(sqs, queues.url)  # the deferred record's copy; the failed one waits out its backoff
    assert json.loads(copy["Body"])["detail"]["image-digest"] == digest(4)
