"""The ECR event patterns as Terraform renders them, matched by moto's EventPattern (EventBridge semantics).

environments/local is planned on the moto server three times (no repository filter, an include list, an
exclude list); the `event_pattern` of both rules is read from `terraform show -json` and every sample event
is matched with `moto.events.models.EventPattern` (moto's `TestEventPattern` API is a stub; this in-process
matcher is the one moto routes PutEvents with). Samples are the fixtures under tests/fixtures/events plus
variations of them: other actions (DELETE), failed pushes, other services, CloudTrail calls with an
errorCode or another eventName, included prefixes and wildcards, excluded names.
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

NATIVE = "module.ecr.aws_cloudwatch_event_rule.native"
CLOUDTRAIL = "module.ecr.aws_cloudwatch_event_rule.cloudtrail[0]"
INCLUDE = ["payments/*", "billing-worker", "team-*-api"]
EXCLUDE = ["sandbox-*", "payments/legacy"]


def push(repository: str, **detail: Any) -> dict[str, Any]:
    event = fixture("ecr_push")
    event["detail"]["repository-name"] = repository
    event["detail"].update(detail)
    return event


def put_image(repository: str) -> dict[str, Any]:
    event = fixture("ecr_cloudtrail_put_image")
    event["detail"]["requestParameters"]["repositoryName"] = repository
    event["detail"]["responseElements"]["image"]["repositoryName"] = repository
    return event


@pytest.fixture(scope="module")
def patterns(
    moto_server: ms.MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, EventPattern]]:
    """{variant: {"native" | "cloudtrail": EventPattern}} from three plans of environments/local."""
    work = tmp_path_factory.mktemp("ecr-patterns")
    root = tf_env.copy_root("local", work)
    manifest = tf_env.fake_manifest(work)
    ms.write_provider_override(root, moto_server.endpoint)
    tf_env.checked(tf_env.terraform(root, "init", "-input=false"), "terraform init")
    found: dict[str, dict[str, EventPattern]] = {}
    for variant, extra in (
        ("all", []),
        ("include", [f"-var=repository_include={json.dumps(INCLUDE)}"]),
        ("exclude", [f"-var=repository_exclude={json.dumps(EXCLUDE)}"]),
    ):
        planned, shown = planned_rule_patterns(
            root, f"{variant}.tfplan", f"-var=manifest_path={manifest}", *extra
        )
        rules = {address: rule for address, rule in planned.items() if address.startswith("module.ecr.")}
        assert set(rules) == {NATIVE, CLOUDTRAIL}, rules
        # The rules carry exactly what the module outputs (the outputs document the patterns).
        assert rules[NATIVE] == shown["output_changes"]["native_event_pattern"]["after"]
        found[variant] = {
            "native": EventPattern.load(rules[NATIVE]),
            "cloudtrail": EventPattern.load(rules[CLOUDTRAIL]),
        }
    return found


def routed(rules: dict[str, EventPattern], event: dict[str, Any]) -> list[str]:
    """Names of the rules that would send the event to the scan queue."""
    return [name for name, pattern in rules.items() if matches(pattern, event)]


def test_successful_pushes_and_put_image_calls_match_their_own_rule_only(
    patterns: dict[str, dict[str, EventPattern]],
) -> None:
    rules = patterns["all"]
    assert routed(rules, fixture("ecr_push")) == ["native"]
    assert routed(rules, fixture("ecr_push_untagged_manifest")) == ["native"]
    assert routed(rules, fixture("ecr_push_image_index")) == ["native"]
    assert routed(rules, fixture("ecr_cloudtrail_put_image")) == ["cloudtrail"]


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("delete action", fixture("ecr_delete")),
        ("failed push", fixture("ecr_push_failed")),
        ("put image with errorCode", fixture("ecr_cloudtrail_put_image_error")),
        ("another service", fixture("unsupported_s3_object_created")),
        ("lambda CloudTrail call", fixture("lambda_create_function_zip")),
        ("ECS CloudTrail call", fixture("ecs_register_task_definition")),
        ("replication action", push("payments/orders-api", **{"action-type": "REPLICATION"})),
        ("push event from a custom source", {**fixture("ecr_push"), "source": "my.ecr"}),
    ],
)
def test_events_that_must_not_reach_the_queue(
    patterns: dict[str, dict[str, EventPattern]], name: str, event: dict[str, Any]
) -> None:
    for variant, rules in patterns.items():
        assert routed(rules, event) == [], f"{name} must not be routed ({variant} patterns)"


def test_other_ecr_api_calls_do_not_match_the_put_image_rule(
    patterns: dict[str, dict[str, EventPattern]],
) -> None:
    for event_name in ("BatchDeleteImage", "CreateRepository", "PutImageTagMutability"):
        event = fixture("ecr_cloudtrail_put_image")
        event["detail"]["eventName"] = event_name
        assert routed(patterns["all"], event) == [], event_name
    event = fixture("ecr_cloudtrail_put_image")
    event["detail"]["eventSource"] = "ecr-public.amazonaws.com"
    assert routed(patterns["all"], event) == []


def test_error_code_of_any_value_blocks_put_image(patterns: dict[str, dict[str, EventPattern]]) -> None:
    event = fixture("ecr_cloudtrail_put_image")
    event["detail"]["errorCode"] = "LayersNotFoundException"
    assert not matches(patterns["all"]["cloudtrail"], event)
    del event["detail"]["errorCode"]
    assert matches(patterns["all"]["cloudtrail"], event)


@pytest.mark.parametrize(
    ("repository", "scanned"),
    [
        ("payments/orders-api", True),  # payments/* -> prefix
        ("payments/", True),
        ("payments", False),
        ("billing-worker", True),  # exact
        ("billing-worker-2", False),
        ("team-search-api", True),  # team-*-api -> wildcard
        ("team-search-web", False),
        ("sandbox-tools", False),
    ],
)
def test_include_list(patterns: dict[str, dict[str, EventPattern]], repository: str, scanned: bool) -> None:
    rules = patterns["include"]
    assert matches(rules["native"], push(repository)) is scanned
    assert matches(rules["cloudtrail"], put_image(repository)) is scanned


@pytest.mark.parametrize(
    ("repository", "scanned"),
    [
        ("sandbox-tools", False),  # sandbox-* excluded
        ("sandbox-", False),
        ("payments/legacy", False),  # exact exclude
        ("payments/legacy-2", True),
        ("payments/orders-api", True),
        ("my-sandbox-tools", True),
    ],
)
def test_exclude_list(patterns: dict[str, dict[str, EventPattern]], repository: str, scanned: bool) -> None:
    rules = patterns["exclude"]
    assert matches(rules["native"], push(repository)) is scanned
    assert matches(rules["cloudtrail"], put_image(repository)) is scanned


def test_filters_do_not_let_failed_or_deleted_images_through(
    patterns: dict[str, dict[str, EventPattern]],
) -> None:
    for variant in ("include", "exclude"):
        native = patterns[variant]["native"]
        assert not matches(native, push("payments/orders-api", result="FAILURE"))
        assert not matches(native, push("payments/orders-api", **{"action-type": "DELETE"}))
