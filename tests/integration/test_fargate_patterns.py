"""The Fargate module's ECS event patterns as Terraform renders them, matched by moto's EventPattern.

A small root calling modules/fargate is planned on the moto server four times (no filter, a cluster include
list, a cluster exclude list with a family include list, a family exclude list); both rules' `event_pattern`
come from `terraform show -json` and are matched against the tests/fixtures/events/ecs_* samples and
variations: each of the four ECS calls, failed calls with an errorCode, other ECS calls, other services,
clusters by name and by ARN, calls without a cluster (the `default` cluster), included and excluded families.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from moto.events.models import EventPattern

from tests.harness import moto_server as ms
from tests.harness import tf_env
from tests.harness.event_patterns import fixture, matches, planned_rule_patterns

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TASK_DEFINITION = 'module.fargate.aws_cloudwatch_event_rule.this["task_definition"]'
DEPLOYMENT = 'module.fargate.aws_cloudwatch_event_rule.this["deployment"]'
CALLS = {
    "ecs_register_task_definition": "task_definition",
    "ecs_run_task": "deployment",
    "ecs_create_service": "deployment",
    "ecs_update_service": "deployment",
}
KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
ROOT_TF = f"""
provider "aws" {{}}

variable "cluster_include" {{
  type    = list(string)
  default = []
}}

variable "cluster_exclude" {{
  type    = list(string)
  default = []
}}

variable "family_include" {{
  type    = list(string)
  default = []
}}

variable "family_exclude" {{
  type    = list(string)
  default = []
}}

module "fargate" {{
  source = "{ms.REPO_ROOT}//modules/fargate"

  core = {{
    kms_key_arn          = "{KEY}"
    results_bucket_arn   = "arn:aws:s3:::qscan-results-123456789012-us-east-1"
    dedupe_table_arn     = "arn:aws:dynamodb:us-east-1:123456789012:table/qscan-dedupe"
    alert_topic_arn      = "arn:aws:sns:us-east-1:123456789012:qscan-alerts"
    qualys_secret_arn    = "arn:aws:secretsmanager:us-east-1:123456789012:secret:qscan/qualys-AbCdEf"
    log_retention_days   = 7
    decrypt_kms_key_arns = ["{KEY}"]
    handler_environment = {{
      QSCAN_DEDUPE_TABLE       = "qscan-dedupe"
      QSCAN_RESULTS_BUCKET     = "qscan-results-123456789012-us-east-1"
      QSCAN_RESULTS_KMS_KEY_ID = "{KEY}"
      QSCAN_ALERT_TOPIC_ARN    = "arn:aws:sns:us-east-1:123456789012:qscan-alerts"
      QSCAN_QUALYS_SECRET_ARN  = "arn:aws:secretsmanager:us-east-1:123456789012:secret:qscan/qualys-AbCdEf"
    }}
  }}
  handler_artifact = {{
    local_path       = "aws-fargate.zip"
    source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  }}
  qscanner_layer_arn = "arn:aws:lambda:us-east-1:123456789012:layer:qscanner:1"
  existing_trail_arn = "arn:aws:cloudtrail:us-east-1:123456789012:trail/qscan-trail-us-east-1"
  cluster_include    = var.cluster_include
  cluster_exclude    = var.cluster_exclude
  family_include     = var.family_include
  family_exclude     = var.family_exclude
}}

output "event_patterns" {{
  value = module.fargate.event_patterns
}}
"""
VARIANTS: dict[str, dict[str, list[str]]] = {
    "all": {},
    "cluster_include": {"cluster_include": ["shop-prod", "team-*"]},
    "cluster_exclude": {"cluster_exclude": ["sandbox-*", "shop-staging"], "family_include": ["checkout-*"]},
    "family_exclude": {"family_exclude": ["experiment-*", "scratch"]},
}


@pytest.fixture(scope="module")
def patterns(
    moto_server: ms.MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, EventPattern]]:
    """{variant: {"task_definition" | "deployment": EventPattern}} from four plans."""
    root: Path = tmp_path_factory.mktemp("fargate-patterns")
    (root / "main.tf").write_text(ROOT_TF)
    ms.write_provider_override(root, moto_server.endpoint)
    tf_env.checked(tf_env.terraform(root, "init", "-input=false"), "terraform init")
    found: dict[str, dict[str, EventPattern]] = {}
    for variant, filters in VARIANTS.items():
        args = [f"-var={name}={json.dumps(value)}" for name, value in filters.items()]
        rules, shown = planned_rule_patterns(root, f"{variant}.tfplan", *args)
        assert set(rules) == {TASK_DEFINITION, DEPLOYMENT}, rules
        # The rules carry exactly what the module outputs.
        outputs = shown["output_changes"]["event_patterns"]["after"]
        assert outputs == {"task_definition": rules[TASK_DEFINITION], "deployment": rules[DEPLOYMENT]}
        found[variant] = {
            "task_definition": EventPattern.load(rules[TASK_DEFINITION]),
            "deployment": EventPattern.load(rules[DEPLOYMENT]),
        }
    return found


def routed(rules: dict[str, EventPattern], event: dict[str, Any]) -> list[str]:
    """Names of the rules that would start the workflow for the event."""
    return [name for name, pattern in rules.items() if matches(pattern, event)]


def with_cluster(name: str, cluster: str | None) -> dict[str, Any]:
    event = fixture(name)
    if cluster is None:
        del event["detail"]["requestParameters"]["cluster"]
    else:
        event["detail"]["requestParameters"]["cluster"] = cluster
    return event


def with_family(family: str) -> dict[str, Any]:
    event = fixture("ecs_register_task_definition")
    event["detail"]["requestParameters"]["family"] = family
    return event


def cluster_arn(name: str) -> str:
    return f"arn:aws:ecs:eu-west-1:444455556666:cluster/{name}"


@pytest.mark.parametrize(("name", "rule"), CALLS.items())
def test_each_ecs_call_matches_its_rule_only(
    patterns: dict[str, dict[str, EventPattern]], name: str, rule: str
) -> None:
    assert routed(patterns["all"], fixture(name)) == [rule]


@pytest.mark.parametrize("name", CALLS)
def test_failed_calls_do_not_match(patterns: dict[str, dict[str, EventPattern]], name: str) -> None:
    event = fixture(name)
    event["detail"]["errorCode"] = "AccessDeniedException"
    event["detail"]["errorMessage"] = "not authorized"
    for variant, rules in patterns.items():
        assert routed(rules, event) == [], variant


@pytest.mark.parametrize(
    "event_name", ["DeregisterTaskDefinition", "StopTask", "DeleteService", "StartTask", "TagResource"]
)
def test_other_ecs_calls_do_not_match(patterns: dict[str, dict[str, EventPattern]], event_name: str) -> None:
    event = fixture("ecs_run_task")
    event["detail"]["eventName"] = event_name
    assert routed(patterns["all"], event) == []


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("another service", fixture("unsupported_s3_object_created")),
        ("lambda CloudTrail call", fixture("lambda_create_function_zip")),
        ("ECR CloudTrail call", fixture("ecr_cloudtrail_put_image")),
        ("ECR push", fixture("ecr_push")),
        ("ECS call from a custom source", {**fixture("ecs_run_task"), "source": "my.ecs"}),
    ],
)
def test_other_sources_do_not_match(
    patterns: dict[str, dict[str, EventPattern]], name: str, event: dict[str, Any]
) -> None:
    for variant, rules in patterns.items():
        assert routed(rules, event) == [], f"{name} ({variant})"


def test_other_event_source_does_not_match(patterns: dict[str, dict[str, EventPattern]]) -> None:
    event = fixture("ecs_run_task")
    event["detail"]["eventSource"] = "ec2.amazonaws.com"
    assert routed(patterns["all"], event) == []


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [
        ("shop-prod", True),
        (cluster_arn("shop-prod"), True),
        ("team-payments", True),
        (cluster_arn("team-payments"), True),
        ("shop-prod-2", False),
        ("sandbox-1", False),
        (cluster_arn("other"), False),
        (None, False),  # the default cluster, not included
    ],
)
def test_cluster_include(
    patterns: dict[str, dict[str, EventPattern]], cluster: str | None, expected: bool
) -> None:
    for name in ("ecs_run_task", "ecs_create_service", "ecs_update_service"):
        assert routed(patterns["cluster_include"], with_cluster(name, cluster)) == (
            ["deployment"] if expected else []
        ), (name, cluster)
    # Task definitions carry no cluster: the cluster filter leaves them alone.
    assert routed(patterns["cluster_include"], fixture("ecs_register_task_definition")) == ["task_definition"]


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [
        ("sandbox-1", False),
        (cluster_arn("sandbox-1"), False),
        ("shop-staging", False),
        (cluster_arn("shop-staging"), False),
        ("shop-prod", True),
        (cluster_arn("shop-prod"), True),
        ("shop-staging-2", True),
        (None, True),  # the default cluster, not excluded
    ],
)
def test_cluster_exclude(
    patterns: dict[str, dict[str, EventPattern]], cluster: str | None, expected: bool
) -> None:
    for name in ("ecs_run_task", "ecs_create_service", "ecs_update_service"):
        assert routed(patterns["cluster_exclude"], with_cluster(name, cluster)) == (
            ["deployment"] if expected else []
        ), (name, cluster)


@pytest.mark.parametrize(
    ("variant", "family", "expected"),
    [
        ("cluster_exclude", "checkout-service", True),
        ("cluster_exclude", "checkout-worker", True),
        ("cluster_exclude", "billing", False),
        ("family_exclude", "checkout-service", True),
        ("family_exclude", "experiment-42", False),
        ("family_exclude", "scratch", False),
        ("family_exclude", "scratchpad", True),
    ],
)
def test_family_filters(
    patterns: dict[str, dict[str, EventPattern]], variant: str, family: str, expected: bool
) -> None:
    assert routed(patterns[variant], with_family(family)) == (["task_definition"] if expected else [])
    # Deployments are filtered by cluster only.
    assert routed(patterns[variant], fixture("ecs_run_task")) == ["deployment"]
