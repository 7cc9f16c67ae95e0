"""The Lambda deployment rule's event pattern as Terraform renders it, matched by moto's EventPattern.

environments/local is planned once on the moto server; the rule's `event_pattern` is read from
`terraform show -json` and every sample is matched with `moto.events.models.EventPattern` (the matcher moto
routes PutEvents with; its `TestEventPattern` API is a stub). Samples: the tests/fixtures/events/lambda_*
CloudTrail calls and variations of them (other eventNames, an errorCode, other services, and function names):
qscan's own functions (the Lambda and the ECR scanner) by name, ARN, qualified ARN and partial ARN in events of
the environment's own account and region never match; a customer's function that merely shares the name
prefix (`qscan-local-billing`) matches, and so do functions named exactly like the scanners in events of
another account (a spoke forwarding to a hub bus) or another region.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from tests.harness import moto_server as ms
from tests.harness import tf_env
from tests.harness.event_patterns import fixture, matches, planned_rule_patterns

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OWN_ACCOUNT, OWN_REGION = ms.ACCOUNT_ID, ms.REGION  # where environments/local plans on the moto server
SPOKE = "111122223333"  # the fixtures' account
SCANNERS = ("qscan-local-lambda-scanner", "qscan-local-ecr-scanner")
RULE = "module.lambda.aws_cloudwatch_event_rule.deploy"
DEPLOYMENTS = (
    "lambda_create_function_zip",
    "lambda_create_function_image",
    "lambda_update_function_code_zip",
    "lambda_update_function_code_image_digest",
    "lambda_update_function_configuration_layers",
)


def with_function(
    name: str, function: str, account: str = OWN_ACCOUNT, region: str = OWN_REGION
) -> dict[str, Any]:
    """A fixture event for `function`, recorded in `account` and `region` (CloudTrail's event fields)."""
    event = fixture(name)
    event["detail"]["requestParameters"]["functionName"] = function
    event["account"], event["region"] = account, region
    event["detail"]["awsRegion"] = region
    event["detail"]["recipientAccountId"] = account
    return event


@pytest.fixture(scope="module")
def pattern(moto_server: ms.MotoServer, tmp_path_factory: pytest.TempPathFactory) -> EventPattern:
    work = tmp_path_factory.mktemp("lambda-patterns")
    root = tf_env.copy_root("local", work)
    manifest = tf_env.fake_manifest(work)
    ms.write_provider_override(root, moto_server.endpoint)
    tf_env.checked(tf_env.terraform(root, "init", "-input=false"), "terraform init")
    rules, shown = planned_rule_patterns(root, "lambda.tfplan", f"-var=manifest_path={manifest}")
    rendered = rules[RULE]
    (rule,) = [change for change in shown["resource_changes"] if change["address"] == RULE]
    # The rule carries exactly what the environment outputs.
    assert json.loads(rendered) == json.loads(shown["output_changes"]["lambda_event_pattern"]["after"])
    assert rule["change"]["after"]["event_bus_name"] == "default"
    return EventPattern.load(rendered)


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


def forms(name: str, account: str = OWN_ACCOUNT, region: str = OWN_REGION) -> list[str]:
    """Every form requestParameters.functionName takes for one function."""
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return [name, f"{account}:function:{name}", arn, f"{arn}:$LATEST", f"{account}:function:{name}:live"]


@pytest.mark.parametrize("function", [form for name in SCANNERS for form in forms(name)])
def test_the_scanners_own_functions_do_not_match(pattern: EventPattern, function: str) -> None:
    for name in ("lambda_create_function_zip", "lambda_update_function_code_zip"):
        assert not matches(pattern, with_function(name, function)), (name, function)


@pytest.mark.parametrize(
    "function",
    [
        "orders-api-handler",
        "qscan-local-billing",  # a customer's function that shares the name prefix "qscan-local-"
        "qscan-local-lambda-scanner-v2",  # starts with a scanner's name: still not the scanner
        *forms("qscan-local-billing"),
        "qscan-localish",
        "my-qscan-local-tool",
        f"arn:aws:lambda:{OWN_REGION}:{OWN_ACCOUNT}:function:demo-orders-fn",
        f"{OWN_ACCOUNT}:function:payments",
    ],
)
def test_other_functions_match(pattern: EventPattern, function: str) -> None:
    assert matches(pattern, with_function("lambda_update_function_code_zip", function))


@pytest.mark.parametrize("function", [form for name in SCANNERS for form in forms(name, account=SPOKE)])
def test_another_accounts_function_named_like_a_scanner_matches(pattern: EventPattern, function: str) -> None:
    """A hub rule must scan a spoke's function even when it is called exactly like one of qscan's scanners."""
    for name in ("lambda_create_function_zip", "lambda_update_function_code_zip"):
        assert matches(pattern, with_function(name, function, account=SPOKE)), (name, function)
    # the bare name in a spoke's event is the spoke's function, not ours
    assert matches(pattern, with_function("lambda_create_function_zip", SCANNERS[0], account=SPOKE))


@pytest.mark.parametrize("function", [*forms(SCANNERS[0], region="eu-west-1"), SCANNERS[0]])
def test_another_regions_function_named_like_a_scanner_matches(pattern: EventPattern, function: str) -> None:
    assert matches(pattern, with_function("lambda_update_function_code_zip", function, region="eu-west-1"))


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
