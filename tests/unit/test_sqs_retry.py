"""qscan.aws.sqs_retry and its settings: backoff, attempts from untrusted record attributes, what is sent.

The SQS side is moto in-process (its SQS follows the documented semantics: receive counts, visibility,
message attributes); the loop-level behaviour through a real handler is in tests/unit/test_handler_ecr_retries.py.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from qscan.attempts import Attempt
from qscan.aws.sqs_retry import (
    MAX_MESSAGE_ATTRIBUTES,
    Backoff,
    QueueRef,
    SqsRetry,
    copied_attributes,
    prior_attempts,
    receive_count,
)
from qscan.config import Settings
from qscan.errors import ConfigError

from tests.harness.handler_world import create_queues, lambda_records, receive_all

REGION = "us-east-1"


def test_backoff_doubles_from_the_base_and_is_capped() -> None:
    backoff = Backoff(60, 900)
    assert [backoff.after(n) for n in range(1, 7)] == [60, 120, 240, 480, 900, 900]
    assert backoff.after(10_000) == 900  # no overflow for absurd attempt numbers
    assert backoff.horizon(3) == 60 + 120 + 240
    assert Backoff(0, 0).after(5) == 0


@pytest.mark.parametrize(("base", "cap"), [(-1, 10), (100, 50), (0, 43201)])
def test_backoff_refuses_impossible_settings(base: int, cap: int) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(base, cap)


def test_settings_defaults_and_validation() -> None:
    settings = Settings.from_env({})
    assert (
        settings.max_receive_count,
        settings.retry_backoff_base_seconds,
        settings.retry_backoff_max_seconds,
    ) == (
        3,
        60,
        900,
    )
    with pytest.raises(ConfigError, match="QSCAN_RETRY_BACKOFF_MAX_SECONDS must be at least"):
        Settings.from_env(
            {"QSCAN_RETRY_BACKOFF_BASE_SECONDS": "600", "QSCAN_RETRY_BACKOFF_MAX_SECONDS": "60"}
        )
    with pytest.raises(ConfigError, match="QSCAN_MAX_RECEIVE_COUNT must be an integer between 1 and 1000"):
        Settings.from_env({"QSCAN_MAX_RECEIVE_COUNT": "0"})
    with pytest.raises(
        ConfigError, match="QSCAN_RETRY_BACKOFF_BASE_SECONDS must be an integer between 0 and 43200"
    ):
        Settings.from_env({"QSCAN_RETRY_BACKOFF_BASE_SECONDS": "43201"})
    with pytest.raises(ConfigError, match="QSCAN_DEAD_LETTER_QUEUE_ARN must be an SQS queue ARN"):
        Settings.from_env({"QSCAN_DEAD_LETTER_QUEUE_ARN": "https://sqs.us-east-1.amazonaws.com/1/q"})
    assert Settings.from_env({"QSCAN_CACHE_TTL_SECONDS": "0"}).cache_ttl_seconds == 0  # "no cache"


def test_attempts_come_from_untrusted_attributes_with_safe_fallbacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def rec(count: Any, prior: Any = None) -> dict[str, Any]:
        attributes = (
            {} if prior is None else {"qscan-prior-attempts": {"stringValue": prior, "dataType": "Number"}}
        )
        return {"attributes": {"ApproximateReceiveCount": count}, "messageAttributes": attributes}

    assert (receive_count(rec("2")), prior_attempts(rec("2", "1"))) == (2, 1)
    # malformed or hostile values never shorten a message's attempts
    for bad in ("", "x", "0", "-3", None, "1e9"):
        assert receive_count(rec(bad)) == 1
    for bad in ("-1", "abc", "100000", ""):
        assert prior_attempts(rec("1", bad)) == 0
    assert "ignored a malformed qscan-prior-attempts" in caplog.text
    retry = SqsRetry(lambda region: None, max_receive_count=3)
    assert retry.attempt(rec("2", "1")) == Attempt(3, 3, fail_fast=False)
    assert retry.attempt(rec("2", "1")).last


def test_copied_attributes_keep_types_and_drop_qscan_s_own() -> None:
    record = {
        "messageAttributes": {
            "team": {"stringValue": "payments", "dataType": "String"},
            "n": {"stringValue": "7", "dataType": "Number.int"},
            "blob": {"binaryValue": base64.b64encode(b"\x00\x01").decode(), "dataType": "Binary"},
            "broken": {"binaryValue": "***", "dataType": "Binary"},
            "qscan-prior-attempts": {"stringValue": "2", "dataType": "Number"},
            "weird": "not a mapping",
        }
    }
    assert copied_attributes(record) == {
        "team": {"DataType": "String", "StringValue": "payments"},
        "n": {"DataType": "Number.int", "StringValue": "7"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }


def test_queue_urls_follow_the_client_endpoint() -> None:
    queue = QueueRef.parse("arn:aws:sqs:eu-west-1:123456789012:qscan-ecr-scan")
    assert queue is not None and (queue.region, queue.account, queue.name) == (
        "eu-west-1",
        "123456789012",
        "qscan-ecr-scan",
    )

    class Meta:
        endpoint_url = "http://127.0.0.1:5000/"

    class Client:
        meta = Meta()

    assert queue.url(Client()) == "http://127.0.0.1:5000/123456789012/qscan-ecr-scan"
    assert QueueRef.parse("arn:aws:sns:eu-west-1:123456789012:topic") is None
    assert QueueRef.parse(None) is None
    with pytest.raises(ValueError, match="ARN"):
        SqsRetry(lambda region: None, dead_letter_queue_arn="qscan-dlq")


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


def test_dead_letter_and_requeue_send_what_the_docstring_says(sqs: Any) -> None:
    queues = create_queues(sqs, "scan")
    sqs.send_message(
        QueueUrl=queues.url,
        MessageBody=json.dumps({"detail": {"x": 1}}),
        MessageAttributes={f"a{i}": {"DataType": "String", "StringValue": str(i)} for i in range(10)},
    )
    (record,) = lambda_records(receive_all(sqs, queues.url), queues.arn)
    retry = SqsRetry(lambda region: sqs, max_receive_count=3, dead_letter_queue_arn=queues.dlq_arn)
    assert retry.can_dead_letter and retry.attempt(record).fail_fast

    assert retry.dead_letter(record, Attempt(1, 3), "bad\nparameter token=abc " + "x" * 2000, "deterministic")
    (dead,) = receive_all(sqs, queues.dlq_url)
    assert dead["Body"] == record["body"]
    attributes = dead["MessageAttributes"]
    assert len(attributes) == MAX_MESSAGE_ATTRIBUTES  # ours first; copied ones only as far as SQS allows
    assert attributes["qscan-failure"]["StringValue"] == "deterministic"
    assert attributes["qscan-attempts"] == {"DataType": "Number", "StringValue": "1"}
    assert attributes["qscan-source-message-id"]["StringValue"] == record["messageId"]
    reason = attributes["qscan-failure-reason"]["StringValue"]
    assert "\n" not in reason and len(reason) <= 1100

    assert retry.requeue(record, Attempt(2, 3))
    (copy,) = receive_all(sqs, queues.url)
    assert copy["Body"] == record["body"] and copy["Attributes"]["ApproximateReceiveCount"] == "1"
    assert (
        copy["MessageAttributes"]["qscan-prior-attempts"]["StringValue"] == "1"
    )  # this receive was no attempt


def test_sqs_failures_are_warnings_and_report_false(sqs: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    queues = create_queues(sqs, "scan")
    record = {
        "messageId": "m-1",
        "receiptHandle": "not-a-real-handle",
        "body": "{}",
        "eventSourceARN": queues.arn,
        "attributes": {"ApproximateReceiveCount": "1"},
    }
    retry = SqsRetry(lambda region: sqs, dead_letter_queue_arn=queues.arn.replace("scan", "gone"))
    assert retry.back_off(record, Attempt(1, 3)) is None
    assert retry.dead_letter(record, Attempt(3, 3), "x", "exhausted") is False
    assert retry.requeue({**record, "eventSourceARN": "not-an-arn"}, Attempt(1, 3)) is False
    assert retry.requeue({**record, "body": None}, Attempt(1, 3)) is False
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("retry backoff failed (ReceiptHandleIsInvalid)") for m in messages)
    assert any("could not send the dead letter" in m for m in messages)
