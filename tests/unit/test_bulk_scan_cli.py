"""`qscan bulk-scan` in-process against moto: output, exit codes 0 / 1 / 2, queue URL from the environment."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from qscan.aws.sessions import ClientFactory
from qscan.cli import main

from tests.unit.test_bulk_scan import FlakySqs, drain, targets_of
from tests.unit.test_lambda_resolve import ACCOUNT, REGION, aws, create_zip  # noqa: F401 - `aws` is a fixture


@pytest.fixture
def setup(aws: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:  # noqa: F811
    monkeypatch.delenv("QSCAN_AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("QSCAN_SCAN_QUEUE_URL", raising=False)
    monkeypatch.delenv("QSCAN_SELF_FUNCTION_NAMES", raising=False)
    for name in ("svc-a", "svc-b", "tool-c", "qscan-lambda-scanner"):
        create_zip(aws, name)
    sqs = boto3.client("sqs", region_name=REGION)
    return sqs, sqs.create_queue(QueueName="scan")["QueueUrl"]


def output(capsys: pytest.CaptureFixture[str]) -> tuple[list[dict[str, Any]], str]:
    captured = capsys.readouterr()
    return [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_enqueues_and_prints_a_summary(setup: tuple[Any, str], capsys: pytest.CaptureFixture[str]) -> None:
    sqs, url = setup
    code = main(["bulk-scan", "--queue-url", url, "--region", REGION, "--exclude", "tool-*"])
    lines, err = output(capsys)
    assert code == 0
    summary = lines[-1]["summary"]
    assert (summary["listed"], summary["enqueued"], summary["failed"]) == (4, 2, 0)
    assert summary["skipped"] == {"excluded": 1, "own-function": 1}
    assert "region done (4 listed)" in err
    arns = sorted(t.function_arn or "" for t in targets_of(drain(sqs, url)))
    assert arns == [f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:svc-{x}" for x in "ab"]


def test_dry_run_prints_targets_and_sends_nothing(
    setup: tuple[Any, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs, url = setup
    monkeypatch.setenv("QSCAN_SCAN_QUEUE_URL", url)  # the queue URL may come from the environment
    code = main(["bulk-scan", "--dry-run", "--include", "svc-*", "--own-function", "nothing"])
    lines, _ = output(capsys)
    assert code == 0
    assert [line["function_arn"].rsplit(":", 1)[1] for line in lines[:-1]] == ["svc-a", "svc-b"]
    assert lines[-1]["summary"]["planned"] == 2 and lines[-1]["summary"]["enqueued"] == 0
    assert drain(sqs, url) == []


def planned_names(capsys: pytest.CaptureFixture[str]) -> tuple[list[str], dict[str, Any]]:
    lines, _ = output(capsys)
    return sorted(line["function_arn"].rsplit(":", 1)[1] for line in lines[:-1]), lines[-1]["summary"]


def test_own_functions_are_exact_names_never_the_name_prefix(
    setup: tuple[Any, str],
    aws: Any,  # noqa: F811 - the fixture
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    create_zip(aws, "qscan-billing")  # a customer's function that shares qscan's default name prefix
    assert main(["bulk-scan", "--dry-run", "--region", REGION]) == 0
    names, summary = planned_names(capsys)
    assert names == ["qscan-billing", "svc-a", "svc-b", "tool-c"]  # qscan-lambda-scanner is the default own
    assert summary["skipped"] == {"own-function": 1}

    monkeypatch.setenv("QSCAN_SELF_FUNCTION_NAMES", "tool-c,qscan-lambda-scanner")
    assert main(["bulk-scan", "--dry-run", "--region", REGION]) == 0
    names, summary = planned_names(capsys)
    assert names == ["qscan-billing", "svc-a", "svc-b"] and summary["skipped"] == {"own-function": 2}

    own_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:svc-a"
    assert main(["bulk-scan", "--dry-run", "--region", REGION, "--own-function", own_arn]) == 0
    names, _ = planned_names(capsys)
    assert names == ["qscan-billing", "qscan-lambda-scanner", "svc-b", "tool-c"]  # the flag replaces the rest


def test_the_removed_own_prefix_flag_exits_2_with_a_hint(
    setup: tuple[Any, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bulk-scan", "--dry-run", "--region", REGION, "--own-prefix", "qscan-"]) == 2
    err = capsys.readouterr().err
    assert "--own-prefix was removed" in err and "--own-function" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["bulk-scan", "--region", REGION],  # no queue URL and not a dry run
        ["bulk-scan", "--dry-run", "--region", REGION, "--own-function", "qscan-*"],  # no patterns
        ["bulk-scan", "--queue-url", "https://example.com/x", "--region", REGION],
        ["bulk-scan", "--dry-run", "--region", "nowhere"],
        ["bulk-scan", "--dry-run", "--region", REGION, "--include", "a;b"],
        ["bulk-scan", "--dry-run", "--region", REGION, "--max-functions", "0"],
    ],
)
def test_bad_input_exits_2(
    setup: tuple[Any, str], capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main(argv) == 2
    assert "invalid input" in capsys.readouterr().err


def test_missing_queue_exits_2(setup: tuple[Any, str], capsys: pytest.CaptureFixture[str]) -> None:
    sqs, url = setup
    sqs.delete_queue(QueueUrl=url)
    assert main(["bulk-scan", "--queue-url", url, "--region", REGION]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_failed_enqueue_exits_1(
    setup: tuple[Any, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs, url = setup
    original = ClientFactory.client

    def client(self: ClientFactory, service: str, **kwargs: Any) -> Any:
        real = original(self, service, **kwargs)
        return FlakySqs(real, [{"0": False}, {"0": False}]) if service == "sqs" else real

    monkeypatch.setattr(ClientFactory, "client", client)
    assert main(["bulk-scan", "--queue-url", url, "--region", REGION]) == 1
    lines, _ = output(capsys)
    assert lines[-1]["summary"]["failed"] == 1 and lines[-1]["summary"]["enqueued"] == 2
    assert len(drain(sqs, url)) == 2
