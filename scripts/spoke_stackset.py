"""The hub-spoke spoke (modules/aws-spoke) as a CloudFormation template, for a service-managed StackSet.

    terraform -chdir=environments/aws-hub output -json spoke_config > spoke_config.json
    python scripts/spoke_stackset.py --hub spoke_config.json --output spoke-stackset.json

The input is the hub's `spoke_config` (the same object the Terraform spoke takes as `hub`): the event patterns
are forwarded verbatim, the read policies attached verbatim, the scanner roles trusted with the ExternalId (and
the organization). The template creates what modules/aws-spoke creates, with the same names (account-global
names carry `${AWS::Region}`), settings and policies: one forwarding rule per hub pattern on the default bus
targeting the hub bus (forwarding role, retry policy, KMS-encrypted dead-letter queue), the queue's alarm, and
the read role. The read role is account-wide, so only the stack in the region named by the `ReadRoleRegion`
parameter creates it (aws-spoke's `create_read_role`). Not carried over: aws-spoke's optional trail (an
organization rolling out a StackSet records its member accounts with an organization trail) and
`dlq_alarm_actions` (topics differ per account). tests/integration/test_spoke_stackset_moto.py applies both
on moto and compares every resource, so the template cannot drift from the module unnoticed.

modules/aws-spoke-stackset deploys the template to organizational units and regions.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

NAME_PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$")
BUS_ARN = re.compile(r"^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._-]+$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$")
ROLE_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
EXTERNAL_ID = re.compile(r"^[A-Za-z0-9+=,.@:/_-]{2,1224}$")
ORGANIZATION_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
KEY = re.compile(r"^[a-z0-9_]{1,24}$")
HUB_FIELDS = frozenset(
    {
        "event_bus_arn",
        "scanner_role_arns",
        "spoke_role_name",
        "spoke_external_id",
        "organization_id",
        "event_patterns",
        "read_policy_jsons",
    }
)


class HubConfigError(ValueError):
    """A spoke_config that modules/aws-spoke would refuse too."""


def _json_object(text: object, what: str, required: str) -> dict[str, Any]:
    if not isinstance(text, str):
        raise HubConfigError(f"{what} must be a JSON string")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise HubConfigError(f"{what} is not JSON: {error.msg}") from None
    if not isinstance(value, dict) or required not in value:
        raise HubConfigError(f"{what} must be a JSON object with {required!r}")
    return value


def _json_map(hub: Mapping[str, Any], field: str, required: str) -> dict[str, dict[str, Any]]:
    raw = hub[field]
    if not isinstance(raw, dict) or not raw:
        raise HubConfigError(f"hub.{field} must be a non-empty object")
    parsed: dict[str, dict[str, Any]] = {}
    for key in sorted(raw):
        if not isinstance(key, str) or not KEY.fullmatch(key):
            raise HubConfigError(f"hub.{field} keys must be 1-24 lower-case letters, digits and underscores")
        parsed[key] = _json_object(raw[key], f"hub.{field}[{key!r}]", required)
    return parsed


def _string(hub: Mapping[str, Any], field: str, pattern: re.Pattern[str]) -> str:
    value = hub[field]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise HubConfigError(f"hub.{field} is not valid (expected {pattern.pattern})")
    return value


def validated_hub(hub: object) -> dict[str, Any]:
    """The hub's spoke_config, checked the way modules/aws-spoke's `hub` validations check it."""
    if not isinstance(hub, dict):
        raise HubConfigError("the hub config must be a JSON object (terraform output -json spoke_config)")
    missing = sorted(HUB_FIELDS - {"organization_id"} - hub.keys())
    unknown = sorted(hub.keys() - HUB_FIELDS)
    if missing or unknown:
        raise HubConfigError(f"hub config fields: missing {missing}, unknown {unknown}")
    arns = hub["scanner_role_arns"]
    if (
        not isinstance(arns, list)
        or not arns
        or not all(isinstance(arn, str) and ROLE_ARN.fullmatch(arn) for arn in arns)
    ):
        raise HubConfigError("hub.scanner_role_arns must list the hub's scanner role ARNs (at least one)")
    organization = hub.get("organization_id")
    if organization is not None:
        _string(hub, "organization_id", ORGANIZATION_ID)
    return {
        "event_bus_arn": _string(hub, "event_bus_arn", BUS_ARN),
        "scanner_role_arns": sorted(set(arns)),
        "spoke_role_name": _string(hub, "spoke_role_name", ROLE_NAME),
        "spoke_external_id": _string(hub, "spoke_external_id", EXTERNAL_ID),
        "organization_id": organization,
        "event_patterns": _json_map(hub, "event_patterns", "source"),
        "read_policy_jsons": _json_map(hub, "read_policy_jsons", "Statement"),
    }


def _logical_id(prefix: str, key: str) -> str:
    return prefix + "".join(part[:1].upper() + part[1:] for part in key.split("_"))


def _logical_ids(prefix: str, keys: list[str]) -> dict[str, str]:
    ids = {key: _logical_id(prefix, key) for key in keys}
    if len(set(ids.values())) != len(ids):
        raise HubConfigError(f"hub keys {keys} give clashing CloudFormation logical ids")
    return ids


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _read_role(hub: Mapping[str, Any]) -> dict[str, Any]:
    equals: dict[str, str] = {"sts:ExternalId": hub["spoke_external_id"]}
    if hub["organization_id"] is not None:
        equals["aws:PrincipalOrgID"] = hub["organization_id"]
    role_name: str = hub["spoke_role_name"]
    policies: dict[str, dict[str, Any]] = hub["read_policy_jsons"]
    return {
        "Type": "AWS::IAM::Role",
        "Condition": "CreateReadRole",
        "Properties": {
            "RoleName": role_name,
            "Description": "The qscan hub's scanners read this account's images, functions and task definitions",
            "MaxSessionDuration": 3600,
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "HubScanners",
                        "Effect": "Allow",
                        "Principal": {"AWS": hub["scanner_role_arns"]},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": equals},
                    }
                ],
            },
            "Policies": [
                {"PolicyName": f"{role_name}-{key.replace('_', '-')}", "PolicyDocument": policy}
                for key, policy in policies.items()
            ],
        },
    }


def _dlq(prefix: str) -> dict[str, Any]:
    return {
        "DlqKey": {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "Description": _sub(f"qscan spoke forwarding dead letters ({prefix}, ${{AWS::Region}})"),
                "EnableKeyRotation": True,
                "PendingWindowInDays": 30,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "EnableIamPolicies",
                            "Effect": "Allow",
                            "Principal": {"AWS": _sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
                            "Action": "kms:*",
                            "Resource": "*",
                        },
                        {
                            "Sid": "EventBridgeDeadLetters",
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                            "Resource": "*",
                        },
                    ],
                },
            },
        },
        "DlqKeyAlias": {
            "Type": "AWS::KMS::Alias",
            "Properties": {
                "AliasName": f"alias/{prefix}-spoke-forward-dlq",
                "TargetKeyId": {"Ref": "DlqKey"},
            },
        },
        "Dlq": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": f"{prefix}-spoke-forward-dlq",
                "KmsMasterKeyId": {"Fn::GetAtt": ["DlqKey", "Arn"]},
                "MessageRetentionPeriod": 1209600,
            },
        },
    }


def _dlq_policy_and_alarm(prefix: str, rule_ids: list[str]) -> dict[str, Any]:
    return {
        "DlqPolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": "Dlq"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "ForwardingRulesDeadLetters",
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": {"Fn::GetAtt": ["Dlq", "Arn"]},
                            "Condition": {
                                "ArnEquals": {
                                    "aws:SourceArn": [{"Fn::GetAtt": [rule, "Arn"]} for rule in rule_ids]
                                }
                            },
                        },
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "sqs:*",
                            "Resource": {"Fn::GetAtt": ["Dlq", "Arn"]},
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        },
                    ],
                },
            },
        },
        "DlqAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": _sub(f"{prefix}-spoke-forward-dlq-${{AWS::Region}}"),
                "AlarmDescription": "qscan: platform events this spoke could not forward to the hub bus "
                "(check the hub bus policy and the forwarding role)",
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["Dlq", "QueueName"]}}],
                "Statistic": "Maximum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
            },
        },
    }


def _forwarding(prefix: str, hub: Mapping[str, Any], rule_ids: Mapping[str, str]) -> dict[str, Any]:
    role_name = f"{prefix}-spoke-forward-${{AWS::Region}}"
    resources: dict[str, Any] = {
        "ForwardRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": _sub(role_name),
                "Description": "EventBridge forwards qscan platform events to the hub bus",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": _sub(f"{role_name}-put-events"),
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Sid": "PutEventsOnTheHubBus",
                                    "Effect": "Allow",
                                    "Action": "events:PutEvents",
                                    "Resource": hub["event_bus_arn"],
                                }
                            ],
                        },
                    }
                ],
            },
        }
    }
    patterns: dict[str, dict[str, Any]] = hub["event_patterns"]
    for key, pattern in patterns.items():
        resources[rule_ids[key]] = {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": _sub(f"{prefix}-fwd-{key.replace('_', '-')}-${{AWS::Region}}"),
                "Description": f"qscan: {key} events to the hub bus",
                "EventBusName": "default",
                "EventPattern": pattern,
                "State": "ENABLED",
                "Targets": [
                    {
                        "Id": "hub-bus",
                        "Arn": hub["event_bus_arn"],
                        "RoleArn": {"Fn::GetAtt": ["ForwardRole", "Arn"]},
                        "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
                        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["Dlq", "Arn"]}},
                    }
                ],
            },
        }
    return resources


def template(hub_config: object, name_prefix: str = "qscan") -> dict[str, Any]:
    """The CloudFormation template of modules/aws-spoke for this hub config and name prefix."""
    if not NAME_PREFIX.fullmatch(name_prefix):
        raise HubConfigError(
            "name_prefix must be 2-20 characters of lower-case letters, digits and hyphens, start with a "
            "letter and not end with a hyphen"
        )
    hub = validated_hub(hub_config)
    rule_ids = _logical_ids("Forward", list(hub["event_patterns"]))
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"qscan hub-spoke spoke ({name_prefix}): forwards the hub platforms' events to "
        f"{hub['event_bus_arn']} and holds the read role the hub assumes",
        "Parameters": {
            "ReadRoleRegion": {
                "Type": "String",
                "Description": "The one region of each account whose stack creates the account-wide read role",
                "AllowedPattern": "^[a-z]{2}(-[a-z]+)+-[0-9]+$",
            }
        },
        "Conditions": {"CreateReadRole": {"Fn::Equals": [{"Ref": "AWS::Region"}, {"Ref": "ReadRoleRegion"}]}},
        # In dependency order (moto creates the resources in template order).
        "Resources": {
            **_dlq(name_prefix),
            **_forwarding(name_prefix, hub, rule_ids),
            **_dlq_policy_and_alarm(name_prefix, list(rule_ids.values())),
            "ReadRole": _read_role(hub),
        },
        "Outputs": {
            "ForwardRoleArn": {"Value": {"Fn::GetAtt": ["ForwardRole", "Arn"]}},
            "DlqArn": {"Value": {"Fn::GetAtt": ["Dlq", "Arn"]}},
            "DlqUrl": {"Value": {"Ref": "Dlq"}},
            "ReadRoleArn": {"Condition": "CreateReadRole", "Value": {"Fn::GetAtt": ["ReadRole", "Arn"]}},
        },
    }


def render(hub_config: object, name_prefix: str = "qscan") -> str:
    """The template as the file the StackSet module reads: two-space indent, final newline."""
    return json.dumps(template(hub_config, name_prefix), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--hub", type=Path, required=True, help="the hub's spoke_config as JSON")
    parser.add_argument("--output", type=Path, required=True, help="the CloudFormation template to write")
    parser.add_argument("--name-prefix", default="qscan", help="aws-spoke's name_prefix (default qscan)")
    args = parser.parse_args(argv)
    try:
        hub_config = json.loads(args.hub.read_text(encoding="utf-8"))
        text = render(hub_config, args.name_prefix)
    except (OSError, json.JSONDecodeError, HubConfigError) as error:
        print(f"spoke_stackset: {error}", file=sys.stderr)
        return 2
    args.output.write_text(text, encoding="utf-8")
    print(f"spoke_stackset: wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
