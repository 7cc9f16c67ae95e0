"""The spoke StackSet on moto, against the Terraform spoke on the same server.

boto3 level (modules/aws-spoke-stackset's Terraform is covered by its terraform tests on the mock provider;
moto shows a perpetual replacement of `aws_cloudformation_stack_set`, DESIGN §5): an organization with an OU
of two accounts; the template of scripts/spoke_stackset.py as a SERVICE_MANAGED stack set with auto-deployment,
instances for the OU in two regions. Meanwhile modules/aws-spoke is applied with Terraform in a third account.
Every resource the stacks create is read back through the service APIs and must equal what Terraform created
(account ids aside), so the template and the module cannot drift apart unnoticed. moto's CloudFormation does
not create AWS::SQS::QueuePolicy and AWS::CloudWatch::Alarm: for those two the template's properties, with
their references resolved, are compared with the Terraform-created policy and alarm.
"""

from __future__ import annotations

import ast
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from scripts import spoke_stackset
from tests.harness import moto_server as ms
from tests.harness import tf_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HUB_CONFIG: dict[str, Any] = json.loads(
    (ms.REPO_ROOT / "tests" / "fixtures" / "spoke_config.json").read_text(encoding="utf-8")
)
HOME = "eu-west-1"
SECOND = "us-east-1"
TERRAFORM_ACCOUNT = "333333333333"
PREFIX = "qscan"


def _session(server: ms.MotoServer, account: str, region: str) -> boto3.session.Session:
    """Credentials bound to `account` (moto's STS binds assumed-role keys to the role's account)."""
    sts = ms.boto3_client("sts", server.endpoint, region)
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="stackset-test"
    )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def _normalized(value: Any, account: str) -> Any:
    """`value` as JSON text with the account id replaced, parsed back (policies, ARNs, names)."""
    return json.loads(json.dumps(value, sort_keys=True).replace(account, "<account>"))


def _inline_policies(iam: Any, role: str) -> dict[str, Any]:
    """Inline policies by name. moto keeps a CloudFormation role's inline policy as the Python text of the
    template's object (`{'Version': ...}`), which get_role_policy returns as a string: read that back too."""
    documents = {}
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        documents[name] = ast.literal_eval(document) if isinstance(document, str) else document
    return documents


def _role(iam: Any, name: str) -> dict[str, Any] | None:
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except iam.exceptions.NoSuchEntityException:
        return None
    return {
        "description": role.get("Description"),
        "max_session": role.get("MaxSessionDuration"),
        "trust": role["AssumeRolePolicyDocument"],
        "policies": _inline_policies(iam, name),
    }


def spoke_resources(session: boto3.session.Session, endpoint: str, account: str) -> dict[str, Any]:
    """What a spoke holds in one account and region, read through the APIs, account ids normalized."""
    region = session.region_name
    events = session.client("events", endpoint_url=endpoint)
    rules = {}
    for rule in events.list_rules(EventBusName="default", NamePrefix=f"{PREFIX}-fwd-")["Rules"]:
        targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName="default")["Targets"]
        rules[rule["Name"]] = {
            "pattern": json.loads(rule["EventPattern"]),
            "description": rule.get("Description"),
            "state": rule["State"],
            "targets": targets,
        }
    iam = session.client("iam", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    kms = session.client("kms", endpoint_url=endpoint)
    queue_url = sqs.get_queue_url(QueueName=f"{PREFIX}-spoke-forward-dlq")["QueueUrl"]
    queue = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["MessageRetentionPeriod", "KmsMasterKeyId"]
    )["Attributes"]
    (alias,) = [
        item
        for item in kms.list_aliases()["Aliases"]
        if item["AliasName"] == f"alias/{PREFIX}-spoke-forward-dlq"
    ]
    key_id = alias["TargetKeyId"]
    # Not describe_key: moto stores a CloudFormation key's policy as an object, and describe_key (which checks
    # the policy) then fails; get_key_policy returns that object as is.
    key_policy = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    return _normalized(
        {
            "rules": rules,
            "forward_role": _role(iam, f"{PREFIX}-spoke-forward-{region}"),
            "read_role": _role(iam, HUB_CONFIG["spoke_role_name"]),
            "queue": {
                "retention": queue["MessageRetentionPeriod"],
                "key_is_the_alias_key": queue["KmsMasterKeyId"].rsplit("/", 1)[-1] == key_id,
            },
            "key": {
                "rotation": kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"],
                "policy": json.loads(key_policy) if isinstance(key_policy, str) else key_policy,
            },
        },
        account,
    )


def _differences(left: Any, right: Any, path: str = "") -> list[str]:
    """The leaf paths where two JSON values differ (readable assertion messages)."""
    if isinstance(left, dict) and isinstance(right, dict):
        return [
            difference
            for key in sorted(left.keys() | right.keys())
            for difference in _differences(left.get(key), right.get(key), f"{path}.{key}")
        ]
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [
            d
            for i, (a, b) in enumerate(zip(left, right, strict=True))
            for d in _differences(a, b, f"{path}[{i}]")
        ]
    return [] if left == right else [f"{path}: {left!r} != {right!r}"]


def _resolved(value: Any, account: str, region: str, template: dict[str, Any]) -> Any:
    """A template fragment with Ref / Fn::GetAtt / Fn::Sub resolved for one stack (the resources this test
    compares reference only the queue, the rules and pseudo parameters)."""
    resources = template["Resources"]
    if isinstance(value, list):
        return [_resolved(item, account, region, template) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::Sub"}:
        text: str = value["Fn::Sub"]
        for name, actual in (("AWS::Region", region), ("AWS::AccountId", account), ("AWS::Partition", "aws")):
            text = text.replace("${" + name + "}", actual)
        assert "${" not in text, text
        return text
    if set(value) == {"Fn::GetAtt"}:
        logical, attribute = value["Fn::GetAtt"]
        properties = resources[logical]["Properties"]
        if resources[logical]["Type"] == "AWS::SQS::Queue":
            name = properties["QueueName"]
            return {"Arn": f"arn:aws:sqs:{region}:{account}:{name}", "QueueName": name}[attribute]
        assert (resources[logical]["Type"], attribute) == ("AWS::Events::Rule", "Arn"), value
        name = _resolved(properties["Name"], account, region, template)
        return f"arn:aws:events:{region}:{account}:rule/{name}"
    if set(value) == {"Ref"}:
        return {"AWS::Region": region, "AWS::AccountId": account}[value["Ref"]]
    return {key: _resolved(item, account, region, template) for key, item in value.items()}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ms.MotoServer]:
    with ms.running_moto_server(tmp_path_factory.mktemp("moto-stackset")) as running:
        yield running


def _apply_terraform_spoke(server: ms.MotoServer, tmp_path: Path) -> None:
    shutil.copytree(ms.REPO_ROOT / "modules", tmp_path / "modules", ignore=tf_env.IGNORED)
    root = tmp_path / "spoke"
    root.mkdir()
    (root / "hub.json").write_text(json.dumps(HUB_CONFIG), encoding="utf-8")
    (root / "main.tf").write_text(
        'provider "aws" {}\n\n'
        'module "spoke" {\n'
        '  source = "../modules/aws-spoke"\n'
        '  hub    = jsondecode(file("${path.module}/hub.json"))\n'
        "}\n",
        encoding="utf-8",
    )
    ms.write_provider_override(root, server.endpoint, region=HOME, assume_role_account=TERRAFORM_ACCOUNT)
    tf_env.checked(tf_env.terraform(root, "init", "-input=false"), "terraform init")
    tf_env.checked(tf_env.terraform(root, "apply", "-auto-approve", "-input=false"), "terraform apply")


def _stack_set_accounts(server: ms.MotoServer, template_body: str) -> list[str]:
    """An organization, an OU with two new accounts, and the stack set deployed to the OU in both regions."""
    organizations = ms.boto3_client("organizations", server.endpoint)
    organizations.create_organization(FeatureSet="ALL")
    root = organizations.list_roots()["Roots"][0]["Id"]
    unit = organizations.create_organizational_unit(ParentId=root, Name="spokes")["OrganizationalUnit"]["Id"]
    accounts = []
    for name in ("spoke-a", "spoke-b"):
        status = organizations.create_account(Email=f"{name}@example.com", AccountName=name)
        account = status["CreateAccountStatus"]["AccountId"]
        organizations.move_account(AccountId=account, SourceParentId=root, DestinationParentId=unit)
        accounts.append(account)

    cloudformation = ms.boto3_client("cloudformation", server.endpoint, HOME)
    cloudformation.create_stack_set(
        StackSetName=f"{PREFIX}-spoke",
        TemplateBody=template_body,
        PermissionModel="SERVICE_MANAGED",
        AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False},
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": "ReadRoleRegion", "ParameterValue": HOME}],
    )
    operation = cloudformation.create_stack_instances(
        StackSetName=f"{PREFIX}-spoke",
        DeploymentTargets={"OrganizationalUnitIds": [unit]},
        Regions=[HOME, SECOND],
    )
    status = cloudformation.describe_stack_set_operation(
        StackSetName=f"{PREFIX}-spoke", OperationId=operation["OperationId"]
    )["StackSetOperation"]["Status"]
    assert status == "SUCCEEDED"
    instances = cloudformation.list_stack_instances(StackSetName=f"{PREFIX}-spoke")["Summaries"]
    assert sorted((item["Account"], item["Region"]) for item in instances) == sorted(
        (account, region) for account in accounts for region in (HOME, SECOND)
    )
    assert {item["Status"] for item in instances} == {"CURRENT"}
    return accounts


@pytest.mark.filterwarnings("ignore:Tried to parse AWS::")
def test_stack_set_creates_the_terraform_spoke_in_every_account_and_region(
    server: ms.MotoServer, tmp_path: Path
) -> None:
    template_body = spoke_stackset.render(HUB_CONFIG, PREFIX)
    template = json.loads(template_body)
    _apply_terraform_spoke(server, tmp_path)
    accounts = _stack_set_accounts(server, template_body)

    terraform_session = _session(server, TERRAFORM_ACCOUNT, HOME)
    expected = spoke_resources(terraform_session, server.endpoint, TERRAFORM_ACCOUNT)
    assert sorted(expected["rules"]) == [
        f"{PREFIX}-fwd-ecr-native-{HOME}",
        f"{PREFIX}-fwd-lambda-deploy-{HOME}",
    ]
    assert expected["read_role"] is not None

    for account in accounts:
        home = spoke_resources(_session(server, account, HOME), server.endpoint, account)
        assert home == expected, _differences(home, expected)

        # The second region: the same spoke with the region in every account-global name; the read role
        # (IAM is global) is the one the home region's stack created, the only stack that holds it.
        second = spoke_resources(_session(server, account, SECOND), server.endpoint, account)
        in_second_region = {
            **json.loads(
                json.dumps({**expected, "read_role": None})
                .replace(HOME, SECOND)
                # the hub bus stays in the hub's home region
                .replace(f"arn:aws:events:{SECOND}:", f"arn:aws:events:{HOME}:")
            ),
            "read_role": expected["read_role"],
        }
        assert second == in_second_region, _differences(second, in_second_region)

    # Not created (the alarm, the queue policy) or not readable (a key's description: describe_key, above) on
    # moto's CloudFormation: compare the template's properties with Terraform's resources.
    kms = terraform_session.client("kms", endpoint_url=server.endpoint)
    key = kms.describe_key(KeyId=f"alias/{PREFIX}-spoke-forward-dlq")["KeyMetadata"]
    key_properties = _resolved(
        template["Resources"]["DlqKey"]["Properties"], TERRAFORM_ACCOUNT, HOME, template
    )
    assert key["Description"] == key_properties["Description"]

    cloudwatch = terraform_session.client("cloudwatch", endpoint_url=server.endpoint)
    (alarm,) = cloudwatch.describe_alarms(AlarmNamePrefix=f"{PREFIX}-spoke-forward-dlq-")["MetricAlarms"]
    wanted = _resolved(template["Resources"]["DlqAlarm"]["Properties"], TERRAFORM_ACCOUNT, HOME, template)
    assert {key: alarm[key] for key in wanted} == wanted

    sqs = terraform_session.client("sqs", endpoint_url=server.endpoint)
    queue_url = sqs.get_queue_url(QueueName=f"{PREFIX}-spoke-forward-dlq")["QueueUrl"]
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    )
    template_policy = template["Resources"]["DlqPolicy"]["Properties"]
    assert template_policy["Queues"] == [{"Ref": "Dlq"}]
    assert policy == _resolved(template_policy["PolicyDocument"], TERRAFORM_ACCOUNT, HOME, template)
