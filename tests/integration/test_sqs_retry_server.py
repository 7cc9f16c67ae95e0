"""The retry mechanics (qscan.aws.sqs_retry) against a moto SERVER: every SQS call goes over HTTP through
QSCAN_AWS_ENDPOINT_URL, queue URLs are built on that endpoint from the records' `eventSourceARN`, and the
queue's redrive policy is the server's. This is the path of the local demo and of a real deployment.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.doubles.fake_qscanner import SCENARIOS_ENV
from tests.harness.handler_world import create_queues, lambda_records, load_server_handler, server_stores
from tests.harness.moto_server import MotoServer

pytestmark = pytest.mark.integration

TOKEN = "qtok-retry-server-3Jd8Kq2"
REPO = "payments/api"
GOOD = "sha256:" + "1a" * 32
FLAKY = "sha256:" + "2b" * 32
INVALID = "sha256:" + "3c" * 32


def push(digest: str) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": digest[-8:],
            "detail-type": "ECR Image Action",
            "source": "aws.ecr",
            "account": "123456789012",
            "region": "us-east-1",
            "detail": {
                "result": "SUCCESS",
                "repository-name": REPO,
                "action-type": "PUSH",
                "image-digest": digest,
            },
        }
    )


def receive(sqs: Any, url: str, arn: str, expected: int, wait_seconds: float) -> list[dict[str, Any]]:
    """Records of the visible messages; polls up to `wait_seconds` for `expected` of them."""
    deadline = time.monotonic() + wait_seconds
    messages: list[dict[str, Any]] = []
    while True:
        messages += sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if len(messages) >= expected or time.monotonic() > deadline:
            return lambda_records(messages, arn)


def settle(sqs: Any, url: str, records: list[dict[str, Any]], response: dict[str, Any]) -> None:
    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    for rec in records:
        if rec["messageId"] not in failed:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=rec["receiptHandle"])


def test_backoff_dead_letters_and_fail_fast_over_http(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = server_stores(moto_server, TOKEN)
    sqs = moto_server.client("sqs")
    queues = create_queues(sqs, "qscan-ecr-scan", max_receive_count=2, visibility_timeout=5400)
    scenarios = tmp_path / "scenarios.json"
    scenarios.write_text(
        json.dumps(
            {
                "targets": {
                    f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{REPO}@{FLAKY}": {"exit_code": 40},
                    f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{REPO}@{INVALID}": {"exit_code": 2},
                },
                "default": {},
            }
        )
    )
    module = load_server_handler(
        "ecr",
        env
        | {
            SCENARIOS_ENV: str(scenarios),
            "QSCAN_MAX_RECEIVE_COUNT": "2",
            "QSCAN_RETRY_BACKOFF_BASE_SECONDS": "1",
            "QSCAN_RETRY_BACKOFF_MAX_SECONDS": "1",
            "QSCAN_DEAD_LETTER_QUEUE_ARN": queues.dlq_arn,
        },
        monkeypatch,
        tmp_path,
    )
    for digest in (GOOD, FLAKY, INVALID):
        sqs.send_message(QueueUrl=queues.url, MessageBody=push(digest))
    records = receive(sqs, queues.url, queues.arn, expected=3, wait_seconds=10)
    assert len(records) == 3
    response = module.lambda_handler({"Records": records}, None)
    flaky_id = next(r["messageId"] for r in records if FLAKY in r["body"])
    assert response == {"batchItemFailures": [{"itemIdentifier": flaky_id}]}
    settle(sqs, queues.url, records, response)

    # the invalid parameter went straight to the DLQ with its reason; the flaky one is back after 1 s, not 5400 s
    (again,) = receive(sqs, queues.url, queues.arn, expected=1, wait_seconds=15)
    assert again["messageId"] == flaky_id and again["attributes"]["ApproximateReceiveCount"] == "2"
    response = module.lambda_handler({"Records": [again]}, None)
    assert response == {"batchItemFailures": []}  # its last attempt: dead-lettered by the handler
    settle(sqs, queues.url, [again], response)

    dead = receive(sqs, queues.dlq_url, queues.dlq_arn, expected=2, wait_seconds=10)
    kinds = {
        json.loads(d["body"])["detail"]["image-digest"]: (
            d["messageAttributes"]["qscan-failure"]["stringValue"],
            d["messageAttributes"]["qscan-attempts"]["stringValue"],
        )
        for d in dead
    }
    assert kinds == {INVALID: ("deterministic", "1"), FLAKY: ("exhausted", "2")}
    assert receive(sqs, queues.url, queues.arn, expected=1, wait_seconds=2) == []
