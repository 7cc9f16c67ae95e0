"""Canary for the `moto_shims` "events:lambda-and-states-targets" shim: a rule whose target is a Step Functions
state machine starts an execution with the event as its input (or the target's Input, InputPath or
InputTransformer), as EventBridge does, and the delivery stays recorded with the execution's ARN. A target
whose state machine does not exist records the error; PutEvents and the other targets are unaffected.
Without the shim moto raises NotImplementedError (HTTP 500) on PutEvents for such a target.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.harness import moto_server as ms

pytestmark = [pytest.mark.integration]

ROLE = f"arn:aws:iam::{ms.ACCOUNT_ID}:role/events-sfn-canary"
# The execution's output is its input: what the target sent.
ECHO = json.dumps({"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}})


def test_a_state_machine_target_starts_an_execution_with_the_target_input(moto_server: ms.MotoServer) -> None:
    events, sfn, sqs = (
        moto_server.client("events"),
        moto_server.client("stepfunctions"),
        moto_server.client("sqs"),
    )
    machine = sfn.create_state_machine(name="events-sfn-canary", definition=ECHO, roleArn=ROLE)[
        "stateMachineArn"
    ]
    missing = machine.replace("events-sfn-canary", "events-sfn-canary-absent")
    queue = sqs.create_queue(QueueName="events-sfn-canary")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="events-sfn-canary", EventPattern=json.dumps({"source": ["sfn.canary"]}))
    targets: dict[str, dict[str, Any]] = {
        "whole": {},
        "constant": {"Input": json.dumps({"fixed": True})},
        "path": {"InputPath": "$.detail.order"},
        "transformed": {
            "InputTransformer": {
                "InputPathsMap": {"order": "$.detail.order.id", "kind": "$.detail-type"},
                "InputTemplate": '{"order": "<order>", "kind": "<kind>", "from": "template"}',
            }
        },
    }
    events.put_targets(
        Rule="events-sfn-canary",
        Targets=[
            *({"Id": key, "Arn": machine, "RoleArn": ROLE, **extra} for key, extra in targets.items()),
            {"Id": "absent", "Arn": missing, "RoleArn": ROLE},
            {"Id": "queue", "Arn": queue_arn},
        ],
    )
    detail = {"order": {"id": "o-17", "items": 3}}
    answer = events.put_events(
        Entries=[{"Source": "sfn.canary", "DetailType": "Order Placed", "Detail": json.dumps(detail)}]
    )
    assert answer["FailedEntryCount"] == 0
    event_id = answer["Entries"][0]["EventId"]

    recorded = {d["target_id"]: d for d in moto_server.deliveries() if d["rule"] == "events-sfn-canary"}
    assert set(recorded) == {*targets, "absent"}  # the queue target is delivered by moto itself
    assert "StateMachineDoesNotExist" in recorded["absent"]["execution_error"]
    assert "execution_arn" not in recorded["absent"]
    outputs = {}
    for key in targets:
        assert "execution_error" not in recorded[key]
        done = ms.finished_execution(sfn, recorded[key]["execution_arn"])
        assert (done["status"], done["stateMachineArn"]) == ("SUCCEEDED", machine)
        outputs[key] = json.loads(done["output"])
        assert outputs[key] == json.loads(done["input"])
    whole = outputs["whole"]
    assert whole == recorded["whole"]["event"]  # the event as delivered: ISO time, account, no moto fields
    assert (whole["id"], whole["source"], whole["detail-type"], whole["detail"]) == (
        event_id,
        "sfn.canary",
        "Order Placed",
        detail,
    )
    assert (whole["account"], whole["region"]) == (ms.ACCOUNT_ID, ms.REGION)
    assert isinstance(whole["time"], str) and whole["time"].endswith("Z")
    assert outputs["constant"] == {"fixed": True}
    assert outputs["path"] == detail["order"]
    assert outputs["transformed"] == {"order": "o-17", "kind": "Order Placed", "from": "template"}
    listed = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert len(listed) == len(targets) and len({e["name"] for e in listed}) == len(targets)

    got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    assert [json.loads(m["Body"])["id"] for m in got] == [event_id]
