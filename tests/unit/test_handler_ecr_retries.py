"""Retry semantics of a queue-fed handler (issue 10 items 7-10, 14), through the ECR handler on real SQS.

The scan queue and its dead-letter queue are moto's (redrive after 3 receives, visibility timeout 5400 s = 6x
the default function timeout, as modules/aws-lambda-worker creates them); the handler gets real receipt handles,
receive counts and message attributes, `World.settle` deletes what the event source mapping would, and
`SqsClock` moves moto's SQS clock instead of sleeping. The shared mechanism lives in `qscan.aws.sqs_handler`
/ `qscan.aws.sqs_retry` / `qscan.pipeline`, so the Lambda handler gets the same behaviour.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.harness.handler_world import REGION, SqsClock, accounting_lines, emf_lines, moto_world
from tests.unit.test_handler_ecr import DIGEST, OTHER_DIGEST, REPO, TOKEN, EcrWorld, image_ref, push_event

QUEUE = "qscan-ecr-scan"
THIRD_DIGEST = "sha256:" + "ee" * 32


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EcrWorld]:
    with moto_world(EcrWorld, tmp_path, monkeypatch, TOKEN, {"QSCAN_SERVICE_NAME": "qscan-ecr"}) as w:
        boto3.client("ecr").create_repository(repositoryName=REPO)
        w.use_queues(QUEUE, max_receive_count=3, visibility_timeout=5400)
        yield w


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SqsClock:
    return SqsClock(monkeypatch)


class ShortOfTime:
    """A Lambda context with too little time left for a second scan."""

    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:qscan-ecr-scanner"
    aws_request_id = "c0ffee00-0000-4000-8000-000000000003"

    def get_remaining_time_in_millis(self) -> int:
        return 1_000  # the first record always runs; the rest are deferred


def attribute(message: dict[str, Any], name: str) -> str:
    return str(message["MessageAttributes"][name]["StringValue"])


def invoke(world: EcrWorld, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    assert world.module is not None
    response: dict[str, Any] = world.module.lambda_handler(event, context or world.context())
    world.settle(event, response)
    return response


# ---------------------------------------------------------------------------------------------- item 7


def test_failed_scan_comes_back_in_minutes_with_a_growing_backoff_and_alerts_once(
    world: EcrWorld, clock: SqsClock, capsys: pytest.CaptureFixture[str]
) -> None:
    world.scenario(image_ref(), exit_code=40)  # partial: transient, retried
    world.load()
    event = world.deliver(push_event())
    (message_id,) = [r["messageId"] for r in event["Records"]]
    for attempt, backoff in ((1, 60), (2, 120)):
        assert invoke(world, event) == {"batchItemFailures": [{"itemIdentifier": message_id}]}
        assert world.alerts() == []  # not the final attempt: no alert yet
        clock.advance(backoff - 1)
        assert world.receive()["Records"] == [], attempt  # still waiting out the backoff
        clock.advance(2)  # minutes, not the queue's 5400 s visibility timeout
        event = world.receive()
        (again,) = event["Records"]
        assert (again["messageId"], again["attributes"]["ApproximateReceiveCount"]) == (
            message_id,
            str(attempt + 1),
        )

    # the third (final) attempt fails too: one alert with the attempts and the last reason, one dead letter
    assert invoke(world, event) == {"batchItemFailures": []}
    (alert,) = world.alerts()
    assert (alert["kind"], alert["attempts"], alert["max_attempts"]) == ("failure", 3, 3)
    assert "VULN_REPORT_FAILED" in alert["reason"] and alert["retryable"] is True
    (dead,) = world.dead_letters()
    assert json.loads(dead["Body"])["detail"]["image-digest"] == DIGEST
    assert attribute(dead, "qscan-failure") == "exhausted" and attribute(dead, "qscan-attempts") == "3"
    assert "VULN_REPORT_FAILED" in attribute(dead, "qscan-failure-reason")
    assert attribute(dead, "qscan-source-message-id") == message_id
    assert "qscan-prior-attempts" not in dead["MessageAttributes"]  # redriven, it starts over
    clock.advance(6000)
    assert world.receive()["Records"] == []  # gone from the scan queue
    assert world.started == 3

    emf = emf_lines(capsys.readouterr().out)
    assert [line["ScanAttemptsFailed"] for line in emf] == [1, 1, 1]  # every failed attempt is a metric
    assert [line["ScansFailed"] for line in emf] == [0, 0, 1]  # one per failed artifact, like the alert
    assert [line["EventsDeadLettered"] for line in emf] == [0, 0, 1]


def test_a_failing_visibility_change_loses_nothing(
    world: EcrWorld, clock: SqsClock, caplog: pytest.LogCaptureFixture
) -> None:
    world.scenario(image_ref(), exit_code=1)
    world.load()
    sqs = world.handler.clients.client("sqs", region=REGION)

    def denied(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ChangeMessageVisibility")

    sqs.meta.events.register("before-call.sqs.ChangeMessageVisibility", denied)
    event = world.deliver(push_event())
    (message_id,) = [r["messageId"] for r in event["Records"]]
    assert invoke(world, event) == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("retry backoff failed (AccessDenied)" in w for w in warnings)
    clock.advance(120)
    assert world.receive()["Records"] == []  # no backoff: it waits out the queue's visibility timeout
    clock.advance(5400)
    (again,) = world.receive()["Records"]
    assert again["messageId"] == message_id and again["attributes"]["ApproximateReceiveCount"] == "2"


# ---------------------------------------------------------------------------------------------- item 8


def digest_of(rec: dict[str, Any]) -> str:
    return str(json.loads(rec["body"])["detail"]["image-digest"])


def send(world: EcrWorld, *bodies: dict[str, Any]) -> None:
    assert world.queues is not None
    for body in bodies:
        boto3.client("sqs").send_message(QueueUrl=world.queues.url, MessageBody=json.dumps(body))


def behind(event: dict[str, Any], digest: str) -> dict[str, Any]:
    """The batch with the record of `digest` last (the one an invocation short of time defers)."""
    return {"Records": sorted(event["Records"], key=lambda r: digest_of(r) == digest)}


def test_deferred_records_never_burn_receives_nor_reach_the_dlq_unscanned(
    world: EcrWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world.load()
    # Five invocations in a row have time for one scan only: the push behind the first is deferred each time.
    # Deferring it by reporting it failed would spend a receive each time: dead-lettered unscanned after 3.
    send(world, push_event(digest=DIGEST), push_event(digest=THIRD_DIGEST))
    for round_ in range(5):
        event = behind(world.receive(), THIRD_DIGEST)
        assert [digest_of(r) for r in event["Records"]][-1] == THIRD_DIGEST and len(event["Records"]) == 2
        waiting = event["Records"][-1]
        assert waiting["attributes"]["ApproximateReceiveCount"] == "1", round_  # no receive was ever spent
        if round_:
            assert (
                waiting["messageAttributes"]["qscan-prior-attempts"]["stringValue"] == "0"
            )  # nor an attempt
        assert invoke(world, event, ShortOfTime()) == {"batchItemFailures": []}, round_
        accounting = accounting_lines(caplog)[-1]
        assert (accounting["scanned"], accounting["deferred"], accounting["failed"]) == (1, 1, 0), round_
        send(world, push_event(digest=f"sha256:{round_ + 1:064x}"))
    assert world.dead_letters() == []
    assert world.store().lookup(f"image#{THIRD_DIGEST}") is None  # never scanned so far
    # an invocation with time for both: scanned on its first attempt
    event = world.receive()
    assert THIRD_DIGEST in [digest_of(r) for r in event["Records"]]
    assert invoke(world, event) == {"batchItemFailures": []}
    assert world.store().lookup(f"image#{THIRD_DIGEST}") is not None
    assert world.dead_letters() == []


def test_a_deferred_copy_carries_its_attempts_so_the_total_is_exactly_max(
    world: EcrWorld, clock: SqsClock
) -> None:
    world.scenario(image_ref(OTHER_DIGEST), exit_code=1)
    world.load()
    send(world, push_event(digest=OTHER_DIGEST))
    assert invoke(world, world.receive())["batchItemFailures"]  # attempt 1 failed
    clock.advance(61)
    send(world, push_event(digest=DIGEST))  # a fresh push first, the retry (receive 2) behind it
    event = behind(world.receive(), OTHER_DIGEST)
    assert len(event["Records"]) == 2
    assert invoke(world, event, ShortOfTime()) == {"batchItemFailures": []}  # the retry is deferred
    (copy,) = world.receive()["Records"]
    assert copy["messageAttributes"]["qscan-prior-attempts"]["stringValue"] == "1"
    assert invoke(world, {"Records": [copy]})["batchItemFailures"]  # attempt 2 = 1 prior + receive 1
    clock.advance(121)  # the backoff after attempt 2
    assert invoke(world, world.receive()) == {"batchItemFailures": []}  # attempt 3: final, dead-lettered
    (dead,) = world.dead_letters()
    assert attribute(dead, "qscan-attempts") == "3" and attribute(dead, "qscan-failure") == "exhausted"
    assert world.started == 3 + 1  # three attempts of the failing push, one scan of the fresh one
    assert len(world.alerts()) == 1


# ---------------------------------------------------------------------------------------------- item 10


@pytest.mark.parametrize(
    ("code", "name"), [(2, "INVALID_PARAMETER"), (6, "SCAN_STAGE_FAILED_6"), (17, "SCAN_STAGE_FAILED_17")]
)
def test_deterministic_failures_are_dead_lettered_at_once_with_their_reason(
    world: EcrWorld, clock: SqsClock, caplog: pytest.LogCaptureFixture, code: int, name: str
) -> None:
    world.scenario(image_ref(), exit_code=code)
    world.load()
    event = world.deliver(push_event())
    (message_id,) = [r["messageId"] for r in event["Records"]]
    assert invoke(world, event) == {"batchItemFailures": []}
    assert world.started == 1  # not rescanned
    (dead,) = world.dead_letters()
    assert attribute(dead, "qscan-failure") == "deterministic" and attribute(dead, "qscan-attempts") == "1"
    assert name in attribute(dead, "qscan-failure-reason")
    assert attribute(dead, "qscan-source-message-id") == message_id
    (alert,) = world.alerts()
    assert (alert["kind"], alert["attempts"], alert["retryable"]) == ("failure", 1, False)
    assert name in alert["reason"]
    clock.advance(6000)
    assert world.receive()["Records"] == []
    (accounting,) = accounting_lines(caplog)
    assert accounting["dead_lettered"] == 1 and accounting["failed"] == 0
    assert accounting["events"] == accounting["dead_lettered"]  # the accounting closes with the new bucket


def test_a_generic_error_is_not_deterministic(world: EcrWorld) -> None:
    world.scenario(image_ref(), exit_code=1)
    world.load()
    event = world.deliver(push_event())
    assert invoke(world, event)["batchItemFailures"]  # retried
    assert world.dead_letters() == [] and world.alerts() == []


def test_without_a_dead_letter_queue_setting_deterministic_failures_use_the_normal_retries(
    world: EcrWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QSCAN_DEAD_LETTER_QUEUE_ARN")
    world.scenario(image_ref(), exit_code=2)
    world.load()
    event = world.deliver(push_event())
    assert invoke(world, event)["batchItemFailures"]  # cannot fail fast: retried, alerted at the last attempt
    assert world.alerts() == [] and world.dead_letters() == []


# ---------------------------------------------------------------------------------------------- item 14


def test_cache_ttl_zero_means_no_cache_end_to_end(world: EcrWorld, caplog: pytest.LogCaptureFixture) -> None:
    world.load(QSCAN_CACHE_TTL_SECONDS="0")
    for _ in range(2):
        assert invoke(world, world.deliver(push_event())) == {"batchItemFailures": []}
    assert world.started == 2  # the second push scans again: nothing was cached
    assert world.store().lookup(f"image#{DIGEST}") is None  # and no record blocks the next scan
    assert [a["scanned"] for a in accounting_lines(caplog)] == [1, 1]
    assert all(a["cached"] == 0 for a in accounting_lines(caplog))


def test_a_dead_letter_that_cannot_be_sent_leaves_the_record_to_the_redrive_policy(
    world: EcrWorld, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("QSCAN_DEAD_LETTER_QUEUE_ARN", "arn:aws:sqs:us-east-1:123456789012:no-such-dlq")
    world.scenario(image_ref(), exit_code=2)
    world.load()
    event = world.deliver(push_event())
    (message_id,) = [r["messageId"] for r in event["Records"]]
    assert invoke(world, event) == {"batchItemFailures": [{"itemIdentifier": message_id}]}  # not lost
    assert "could not send the dead letter to no-such-dlq" in caplog.text
    (accounting,) = accounting_lines(caplog)
    assert (accounting["failed"], accounting["dead_lettered"]) == (1, 0)
