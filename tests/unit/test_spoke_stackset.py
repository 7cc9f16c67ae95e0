"""scripts/spoke_stackset.py: the spoke's CloudFormation template passes cfn-lint, carries the hub's
patterns and policies verbatim, names with the region, creates the read role in one region only, and refuses
the hub configs modules/aws-spoke refuses. (tests/integration/test_spoke_stackset_moto.py compares the
resources the template creates on moto with the Terraform spoke's.)"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts import spoke_stackset

REPO = Path(__file__).resolve().parents[2]
HUB: dict[str, Any] = json.loads((REPO / "tests" / "fixtures" / "spoke_config.json").read_text())
CFN_LINT = Path(sys.executable).with_name("cfn-lint")


def _cfn_lint(path: Path) -> subprocess.CompletedProcess[str]:
    binary = str(CFN_LINT) if CFN_LINT.exists() else shutil.which("cfn-lint")
    assert binary, "cfn-lint is pinned in requirements/dev.lock: run make bootstrap"
    return subprocess.run(
        [binary, "--regions", "eu-west-1", "us-east-1", "--", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("organization", ["o-a1b2c3d4e5", None])
def test_the_template_passes_cfn_lint(tmp_path: Path, organization: str | None) -> None:
    path = tmp_path / "spoke.json"
    path.write_text(spoke_stackset.render({**HUB, "organization_id": organization}))
    result = _cfn_lint(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_fails_a_broken_template(tmp_path: Path) -> None:
    """The gate above can fail: a rule without its required target id is a cfn-lint error."""
    template = spoke_stackset.template(HUB)
    del template["Resources"]["ForwardEcrNative"]["Properties"]["Targets"][0]["Id"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(template))
    assert _cfn_lint(path).returncode != 0


def test_rules_forward_exactly_the_hub_patterns_to_the_hub_bus() -> None:
    resources = spoke_stackset.template(HUB)["Resources"]
    rules = {key: value for key, value in resources.items() if value["Type"] == "AWS::Events::Rule"}
    assert sorted(rules) == ["ForwardEcrNative", "ForwardLambdaDeploy"]
    for key, logical in (("ecr_native", "ForwardEcrNative"), ("lambda_deploy", "ForwardLambdaDeploy")):
        properties = rules[logical]["Properties"]
        assert properties["EventPattern"] == json.loads(HUB["event_patterns"][key])
        assert properties["EventBusName"] == "default"
        assert properties["Name"] == {"Fn::Sub": f"qscan-fwd-{key.replace('_', '-')}-${{AWS::Region}}"}
        (target,) = properties["Targets"]
        assert target["Arn"] == HUB["event_bus_arn"]
        assert target["RoleArn"] == {"Fn::GetAtt": ["ForwardRole", "Arn"]}
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["Dlq", "Arn"]}}
    source_arns = resources["DlqPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]["Condition"]
    assert source_arns == {
        "ArnEquals": {"aws:SourceArn": [{"Fn::GetAtt": [rule, "Arn"]} for rule in sorted(rules)]}
    }


def test_account_global_names_carry_the_region_and_the_prefix() -> None:
    resources = spoke_stackset.template(HUB, "sec")["Resources"]
    assert resources["ForwardRole"]["Properties"]["RoleName"] == {
        "Fn::Sub": "sec-spoke-forward-${AWS::Region}"
    }
    assert resources["DlqAlarm"]["Properties"]["AlarmName"] == {
        "Fn::Sub": "sec-spoke-forward-dlq-${AWS::Region}"
    }
    assert resources["Dlq"]["Properties"]["QueueName"] == "sec-spoke-forward-dlq"


def test_the_read_role_exists_in_the_read_role_region_only_with_the_hub_trust_and_policies() -> None:
    template = spoke_stackset.template(HUB)
    assert template["Conditions"]["CreateReadRole"] == {
        "Fn::Equals": [{"Ref": "AWS::Region"}, {"Ref": "ReadRoleRegion"}]
    }
    role = template["Resources"]["ReadRole"]
    assert role["Condition"] == "CreateReadRole"
    properties = role["Properties"]
    assert properties["RoleName"] == HUB["spoke_role_name"]
    (statement,) = properties["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": sorted(HUB["scanner_role_arns"])}
    assert statement["Condition"] == {
        "StringEquals": {
            "sts:ExternalId": HUB["spoke_external_id"],
            "aws:PrincipalOrgID": HUB["organization_id"],
        }
    }
    assert properties["Policies"] == [
        {"PolicyName": f"qscan-spoke-read-{key}", "PolicyDocument": json.loads(policy)}
        for key, policy in sorted(HUB["read_policy_jsons"].items())
    ]
    without_organization = spoke_stackset.template({**HUB, "organization_id": None})
    trust = without_organization["Resources"]["ReadRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Condition"] == {
        "StringEquals": {"sts:ExternalId": HUB["spoke_external_id"]}
    }


def _broken(field: str, value: Any) -> dict[str, Any]:
    hub = copy.deepcopy(HUB)
    hub[field] = value
    return hub


@pytest.mark.parametrize(
    ("hub", "message"),
    [
        (_broken("event_bus_arn", "arn:aws:sqs:eu-west-1:111111111111:q"), "event_bus_arn"),
        (_broken("scanner_role_arns", []), "scanner_role_arns"),
        (_broken("spoke_role_name", "has space"), "spoke_role_name"),
        (_broken("spoke_external_id", "x"), "spoke_external_id"),
        (_broken("organization_id", "org"), "organization_id"),
        (_broken("event_patterns", {"ecr": '{"detail-type": ["x"]}'}), "'source'"),
        (_broken("event_patterns", {"Bad-Key": '{"source": ["aws.ecr"]}'}), "keys"),
        (_broken("read_policy_jsons", {"ecr": "not json"}), "not JSON"),
        (_broken("event_patterns", {"a1": '{"source":["a"]}', "a_1": '{"source":["b"]}'}), "clashing"),
        ({**HUB, "extra": 1}, "unknown"),
        ({k: v for k, v in HUB.items() if k != "event_bus_arn"}, "missing"),
        ([], "JSON object"),
    ],
)
def test_hub_configs_the_terraform_spoke_refuses_are_refused(hub: object, message: str) -> None:
    with pytest.raises(spoke_stackset.HubConfigError, match=message):
        spoke_stackset.template(hub)


def test_a_bad_name_prefix_is_refused() -> None:
    with pytest.raises(spoke_stackset.HubConfigError, match="name_prefix"):
        spoke_stackset.template(HUB, "Qscan_")


def test_the_cli_writes_the_template_and_reports_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub_file = tmp_path / "spoke_config.json"
    hub_file.write_text(json.dumps(HUB))
    output = tmp_path / "spoke-stackset.json"
    assert spoke_stackset.main(["--hub", str(hub_file), "--output", str(output), "--name-prefix", "sec"]) == 0
    assert output.read_text() == spoke_stackset.render(HUB, "sec")

    hub_file.write_text(json.dumps({**HUB, "spoke_external_id": "x"}))
    assert spoke_stackset.main(["--hub", str(hub_file), "--output", str(tmp_path / "other.json")]) == 2
    assert "spoke_external_id" in capsys.readouterr().err
    assert not (tmp_path / "other.json").exists()
