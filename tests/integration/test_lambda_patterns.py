"""The Lambda deployment rule's event pattern as Terraform renders it, matched by moto's EventPattern.

environments/local is planned once on the moto server; the rule's `event_pattern` is read from
`terraform show -json` and every sample is matched with `moto.events.models.EventPattern` (the matcher moto
routes PutEvents with; its `TestEventPattern` API is a stub). Samples: the tests/fixtures/events/lambda_*
CloudTrail calls and variations of them (other eventNames, an errorCode, the scanner's own functions by name,
ARN, qualified ARN and partial ARN, other services).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from tests.harness import moto_server as ms
from tests.harness import tf_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EVENTS = ms.REPO_ROOT / "tests" / "fixtures" / "events"
RULE = "module.lambda.aws_cloudwatch_event_rule.deploy"
DEPLOYMENTS = (
    "lambda_create_function_zip",
    "lambda_create_function_image",
    "lambda_update_function_code_zip",
    "lambda_update_function_code_image_digest",
    "lambda_update_function_configuration_layers",
)


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return loaded


def with_function(name: str, function: str) -> dict[str, Any]:
    event = fixture(name)
    event["detail"]["requestParameters"]["functionName"] = function
    return event


@pytest.fixture(scope="module")
def pattern(moto_server: ms.MotoServer, tmp_path_factory: pytest.TempPathFactory) -> EventPattern:
    work = tmp_path_factory.mktemp("lambda-patterns")
    root = tf_env.copy_root("local", work)
    manifest = tf_env.fake_manifest(work)
    ms.write_provider_override(root, moto_server.endpoint)
    tf_env.checked(tf_env.terraform(root, "init", "-input=false"), "terraform init")
    tf_env.checked(
        tf_env.terraform(
            root, "plan", "-input=false", "-out=lambda.tfplan", f"-var=manifest_path={manifest}"
        ),
        "terraform plan",
    )
    shown = json.loads(
        tf_env.checked(tf_env.terraform(root, "show", "-json", "lambda.tfplan"), "terraform show")
    )
    (rule,) = [change for change in shown["resource_changes"] if change["address"] == RULE]
    rendered = rule["change"]["after"]["event_pattern"]
    # The rule carries exactly what the environment outputs.
    assert json.loads(rendered) == json.loads(shown["output_changes"]["lambda_event_pattern"]["after"])
    assert rule["change"]["after"]["event_bus_name"] == "default"
    return EventPattern.load(rendered)


def matches(pattern: EventPattern, event: dict[str, Any]) -> bool:
    return bool(pattern.matches_event(copy.deepcopy(event)))  # type: ignore[arg-type]  # a full event dict


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_the_three_deployment_calls_match(pattern: EventPattern, name: str) -> None:
    assert matches(pattern, fixture(name))


@pytest.mark.parametrize(
    "event_name",
    [
        "DeleteFunction20150331",
        "TagResource20170331v2",
        "UpdateFunctionEventInvokeConfig20191125",
        "PublishVersion20150331",
        "AddPermission20150331v2",
        "CreateFunctionUrlConfig20211031",
    ],
)
def test_other_lambda_calls_do_not_match(pattern: EventPattern, event_name: str) -> None:
    event = fixture("lambda_update_function_code_zip")
    event["detail"]["eventName"] = event_name
    assert not matches(pattern, event)


def test_failed_calls_do_not_match(pattern: EventPattern) -> None:
    failed = fixture("lambda_update_function_code_failed")
    assert "errorCode" in failed["detail"] and not matches(pattern, failed)
    del failed["detail"]["errorCode"]
    failed["detail"].pop("errorMessage", None)
    assert matches(pattern, failed)  # the errorCode alone kept it out
    event = fixture("lambda_create_function_zip")
    event["detail"]["errorCode"] = "AccessDenied"
    assert not matches(pattern, event)


@pytest.mark.parametrize(
    "function",
    [
        "qscan-local-lambda-scanner",
        "qscan-local-ecr-scanner",
        "arn:aws:lambda:us-east-1:123456789012:function:qscan-local-lambda-scanner",
        "arn:aws:lambda:us-east-1:123456789012:function:qscan-local-ecr-scanner:$LATEST",
        "123456789012:function:qscan-local-lambda-scanner",
    ],
)
def test_the_scanners_own_functions_do_not_match(pattern: EventPattern, function: str) -> None:
    for name in ("lambda_create_function_zip", "lambda_update_function_code_zip"):
        assert not matches(pattern, with_function(name, function)), (name, function)


@pytest.mark.parametrize(
    "function",
    [
        "orders-api-handler",
        "qscan-localish",  # the prefix is "qscan-local-" (with the hyphen)
        "my-qscan-local-tool",
        "arn:aws:lambda:us-east-1:123456789012:function:demo-orders-fn",
        "123456789012:function:payments",
    ],
)
def test_other_functions_match(pattern: EventPattern, function: str) -> None:
    assert matches(pattern, with_function("lambda_update_function_code_zip", function))


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("other source", {"source": "my.lambda"}),
        ("other detail-type", {"detail-type": "Lambda Function Invocation Result - Success"}),
    ],
)
def test_other_sources_do_not_match(pattern: EventPattern, name: str, change: dict[str, Any]) -> None:
    event = {**fixture("lambda_create_function_zip"), **change}
    assert not matches(pattern, event), name
    for other in ("ecr_cloudtrail_put_image", "ecr_push", "unsupported_s3_object_created"):
        assert not matches(pattern, fixture(other)), other
