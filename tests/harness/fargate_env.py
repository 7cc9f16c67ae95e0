"""The Fargate wiring of an applied environment on a shimmed moto server (environments/local and
environments/aws-single-account): the ECS rules → Step Functions target (events role, DLQ, retry policy) → state
machine whose every Task runs the task function, and the four ECS calls routed to it.

Both checks read the environment's outputs `fargate_state_machine_arn`, `fargate_rule_names`, `fargate_dlq_arn`
and `fargate_function_name`. Routing is checked on the deliveries tests/harness/moto_shims.py records for
Step Functions targets (with the execution each one started; moto's own events backend raises for them).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tests.harness import event_patterns
from tests.harness import moto_server as ms

ECS_CALLS = {
    "ecs_register_task_definition": "task_definition",
    "ecs_run_task": "deployment",
    "ecs_create_service": "deployment",
    "ecs_update_service": "deployment",
}


def task_states(states: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every Task of an ASL States map, Map item processors and Parallel branches included."""
    for state in states.values():
        if state["Type"] == "Task":
            yield state
        if state["Type"] == "Map":
            yield from task_states(state["ItemProcessor"]["States"])
        for branch in state.get("Branches", []):
            yield from task_states(branch["States"])


def checked_wiring(server: ms.MotoServer, outputs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Assert the rule → state machine → task function wiring; returns the state machine's definition and the
    task function's configuration for the environment's own sizing checks."""
    events, iam, sqs = server.client("events"), server.client("iam"), server.client("sqs")
    machine, dlq_arn = outputs["fargate_state_machine_arn"], outputs["fargate_dlq_arn"]
    rule_names: dict[str, str] = outputs["fargate_rule_names"]
    assert set(rule_names) == {"task_definition", "deployment"}
    rule_arns = []
    for name in rule_names.values():
        rule_arns.append(events.describe_rule(Name=name)["Arn"])
        (target,) = events.list_targets_by_rule(Rule=name)["Targets"]
        assert (target["Arn"], target["DeadLetterConfig"]["Arn"]) == (machine, dlq_arn)
        assert set(target["RetryPolicy"]) == {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"}
        role = iam.get_role(RoleName=target["RoleArn"].rsplit("/", 1)[1])["Role"]
        principals = [s["Principal"] for s in role["AssumeRolePolicyDocument"]["Statement"]]
        assert principals == [{"Service": "events.amazonaws.com"}]
    # The DLQ admits exactly these rules (EventBridge sends it the events it could not start an execution for).
    dlq_url = sqs.get_queue_url(QueueName=dlq_arn.rsplit(":", 1)[1])["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["Policy"])["Attributes"]
    allowed = json.loads(attributes["Policy"])["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert sorted(allowed) == sorted(rule_arns)

    described = server.client("stepfunctions").describe_state_machine(stateMachineArn=machine)
    assert described["type"] == "STANDARD"
    definition: dict[str, Any] = json.loads(described["definition"])
    config: dict[str, Any] = server.client("lambda").get_function_configuration(
        FunctionName=outputs["fargate_function_name"]
    )
    assert {state["Resource"] for state in task_states(definition["States"])} == {config["FunctionArn"]}
    return definition, config


def routed_ecs_calls(server: ms.MotoServer, outputs: dict[str, Any]) -> None:
    """Put each ECS CloudTrail call (and a Lambda one) on the default bus: each ECS call reaches the state
    machine through its rule, once, and starts an execution whose input is the event; nothing else does."""
    events, sfn = server.client("events"), server.client("stepfunctions")
    rule_names: dict[str, str] = outputs["fargate_rule_names"]
    machine = outputs["fargate_state_machine_arn"]
    sent = {
        event_patterns.put_fixture(events, name): rule_names[purpose] for name, purpose in ECS_CALLS.items()
    }
    event_patterns.put_fixture(events, "lambda_create_function_zip")
    routed = [d for d in server.deliveries() if d["target_arn"] == machine]
    assert sorted((d["event"]["id"], d["rule"]) for d in routed) == sorted(sent.items())
    for delivery in routed:
        assert "execution_arn" in delivery, delivery.get("execution_error")
        execution = sfn.describe_execution(executionArn=delivery["execution_arn"])
        assert execution["stateMachineArn"] == machine
        assert json.loads(execution["input"])["id"] == delivery["event"]["id"]
