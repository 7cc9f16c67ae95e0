"""Canaries for the Step Functions shims: moto executes state machines, and Lambda tasks run a real handler.

`moto_shims` "states:execute-state-machines" and "lambda:invoke-runners" with `tests.harness.lambda_runner`:
a Task's function raises on its first call (errorType `TransientStepError`, retried by the Task's Retry), then a
second Task raises a name the Retry does not list (caught into a Pass state). Without the shims the canned
simple-Lambda result never raises and neither path runs.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from tests.harness import moto_server as ms
from tests.harness.lambda_runner import running_function

pytestmark = [pytest.mark.integration]

ROLE = f"arn:aws:iam::{ms.ACCOUNT_ID}:role/canary"


class TransientStepError(Exception):
    pass


class PermanentStepError(Exception):
    pass


def tiny_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return event\n")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ms.MotoServer]:
    with ms.running_moto_server(tmp_path_factory.mktemp("moto-sfn")) as running:
        yield running


def test_tasks_run_the_real_handler_and_its_errors_drive_retry_and_catch(server: ms.MotoServer) -> None:
    lam, sfn = server.client("lambda"), server.client("stepfunctions")
    server.client("iam").create_role(
        RoleName="canary",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    arn = lam.create_function(
        FunctionName="canary",
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.lambda_handler",
        Code={"ZipFile": tiny_zip()},
    )["FunctionArn"]
    failures = {"flaky": 1}

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event["step"] == "flaky" and failures["flaky"] > 0:
            failures["flaky"] -= 1
            raise TransientStepError("try again")
        if event["step"] == "broken":
            raise PermanentStepError("no")
        return {"ran": event["step"], "function": context.function_name}

    retry = [
        {"ErrorEquals": ["TransientStepError"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1}
    ]
    definition = {
        "StartAt": "Flaky",
        "States": {
            "Flaky": {
                "Type": "Task",
                "Resource": arn,
                "Parameters": {"step": "flaky"},
                "Retry": retry,
                "ResultPath": "$.flaky",
                "Next": "Broken",
            },
            "Broken": {
                "Type": "Task",
                "Resource": arn,
                "Parameters": {"step": "broken"},
                "Retry": retry,
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
                "Next": "Unreached",
            },
            "Unreached": {"Type": "Fail", "Error": "unreached"},
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    machine = sfn.create_state_machine(name="canary", definition=json.dumps(definition), roleArn=ROLE)
    with running_function(server, "canary", handler) as runner:
        started = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input="{}")
        done = ms.finished_execution(sfn, started["executionArn"])
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["flaky"] == {"ran": "flaky", "function": "canary"}
    assert output["error"]["Error"] == "PermanentStepError"
    assert json.loads(output["error"]["Cause"])["errorMessage"] == "no"
    assert runner.calls == [
        ("flaky", "TransientStepError"),
        ("flaky", None),
        ("broken", "PermanentStepError"),
    ]
