"""The moto harness: server lifecycle, CLI, each shim (and that its gap still exists), and a Terraform
apply/plan/events/destroy cycle of tests/fixtures/terraform/moto-smoke on the shimmed server."""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.harness import moto_server as ms

pytestmark = pytest.mark.integration

FIXTURE_ROOT = ms.REPO_ROOT / "tests" / "fixtures" / "terraform" / "moto-smoke"
GOOD_ASL = json.dumps(
    {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Succeed"}}}
)


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((ms.HOST, port))
        except OSError:
            return False
    return True


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


def _drain(sqs: Any, queue_url: str, quiet_seconds: float = 1.5, limit: float = 15.0) -> list[dict[str, Any]]:
    """Receive until the queue stays empty for `quiet_seconds`; returns the parsed message bodies."""
    bodies: list[dict[str, Any]] = []
    deadline, quiet_since = time.monotonic() + limit, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - quiet_since < quiet_seconds:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = got.get("Messages", [])
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if messages:
            quiet_since = time.monotonic()
        else:
            time.sleep(0.1)
    return bodies


def _put(events: Any, source: str, detail: dict[str, Any]) -> str:
    response = events.put_events(
        Entries=[{"Source": source, "DetailType": "Smoke", "Detail": json.dumps(detail)}]
    )
    assert response["FailedEntryCount"] == 0, response
    return str(response["Entries"][0]["EventId"])


# ---------------------------------------------------------------------------------------------------------
# Lifecycle
# ---------------------------------------------------------------------------------------------------------


def _fail_inside_server(state_dir: Path, seen: dict[str, Any]) -> None:
    with ms.running_moto_server(state_dir) as server:
        seen.update(port=server.port, pid=server.pid, process=server.process)
        assert server.endpoint == f"http://127.0.0.1:{server.port}"
        assert ms.health(server.endpoint) is not None
        assert not _port_is_free(server.port)
        raise RuntimeError("boom")


def test_server_is_stopped_and_port_freed_when_the_body_raises(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}
    with pytest.raises(RuntimeError, match="boom"):
        _fail_inside_server(tmp_path, seen)
    assert seen["process"].poll() is not None, "server process still running"
    assert not ms._pid_is_our_server(seen["pid"])
    assert _port_is_free(seen["port"])
    assert not (tmp_path / ms.PID_FILE).exists()
    assert not (tmp_path / ms.ENDPOINT_FILE).exists()


def test_start_failure_reports_the_log_and_leaves_nothing_running(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="unknown moto shim"):
        ms.start_server(tmp_path, timeout=30, skip_shims=["no-such-shim"])
    assert not (tmp_path / ms.PID_FILE).exists()


def test_cli_start_status_reset_stop(tmp_path: Path) -> None:
    state = tmp_path / "state"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tests.harness.moto_cli", *args],
            cwd=ms.REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )

    started = cli("start", "--state-dir", str(state))
    try:
        assert started.returncode == 0, started.stderr
        endpoint = started.stdout.strip()
        assert endpoint.startswith("http://127.0.0.1:")
        again = cli("start", "--state-dir", str(state))
        assert (again.returncode, again.stdout.strip()) == (0, endpoint), "second start must reuse the server"
        status = cli("status", "--state-dir", str(state))
        assert (status.returncode, status.stdout.strip()) == (0, endpoint)

        sqs = ms.boto3_client("sqs", endpoint)
        sqs.create_queue(QueueName="cli-reset")
        assert cli("reset", "--state-dir", str(state)).returncode == 0
        assert sqs.list_queues().get("QueueUrls", []) == []

        override = cli(
            "provider-override", "--state-dir", str(state), "--root", str(tmp_path), "--services", "sqs"
        )
        assert override.returncode == 0, override.stderr
        assert f'sqs = "{endpoint}"' in (tmp_path / ms.PROVIDER_OVERRIDE_FILE).read_text()
    finally:
        stopped = cli("stop", "--state-dir", str(state))
    assert stopped.returncode == 0, stopped.stderr
    assert _port_is_free(int(endpoint.rsplit(":", 1)[1]))
    assert cli("status", "--state-dir", str(state)).returncode == 1
    assert cli("stop", "--state-dir", str(state)).returncode == 0, "stop must be idempotent"


# ---------------------------------------------------------------------------------------------------------
# Shims: each gap is real in plain moto, and closed on the harness server
# ---------------------------------------------------------------------------------------------------------


def _make_queue_with_redrive(sqs: Any, name: str) -> tuple[str, str]:
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "4"}, separators=(",", ":"))
    queue = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": policy})["QueueUrl"]
    return queue, policy


def _make_function(server: ms.MotoServer, name: str, dlq_arn: str) -> dict[str, Any]:
    role = server.client("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"][
        "Arn"
    ]
    return dict(
        server.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": _zip_bytes()},
            DeadLetterConfig={"TargetArn": dlq_arn},
        )
    )


def _described_containers(server: ms.MotoServer) -> list[dict[str, Any]]:
    """Run a Fargate task of a two-container task definition; returns DescribeTasks' containers."""
    ecs = server.client("ecs")
    ecs.create_cluster(clusterName="shim")
    definition = ecs.register_task_definition(
        family="two",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[
            # container memory: moto's RunTask sums it (ECS does not need it on Fargate)
            {"name": "web", "image": "public.example/web:1", "essential": True, "memory": 256},
            {"name": "sidecar", "image": "public.example/sidecar:2", "essential": False, "memory": 128},
        ],
    )["taskDefinition"]
    ec2 = server.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.43.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # moto's ENIs need DNS names
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.43.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="shim", Description="shim", VpcId=vpc)["GroupId"]
    network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}
    (task,) = ecs.run_task(
        cluster="shim",
        taskDefinition=definition["taskDefinitionArn"],
        launchType="FARGATE",
        networkConfiguration=network,
    )["tasks"]
    (described,) = ecs.describe_tasks(cluster="shim", tasks=[task["taskArn"]])["tasks"]
    containers: list[dict[str, Any]] = described["containers"]
    assert all(c["taskArn"] in (task["taskArn"], definition["taskDefinitionArn"]) for c in containers)
    return containers


def test_gaps_still_exist_in_plain_moto(tmp_path: Path) -> None:
    """Canary: if a moto upgrade closes a gap, this fails and the matching shim should be dropped."""
    with ms.running_moto_server(tmp_path, skip_shims=["all"]) as plain:
        assert ms.health(plain.endpoint)["shims"] == []  # type: ignore[index]
        sfn = plain.client("stepfunctions")
        with pytest.raises(ClientError) as err:
            sfn.validate_state_machine_definition(definition=GOOD_ASL)
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        with pytest.raises(ClientError) as err:
            sfn.list_state_machine_versions(
                stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:x"
            )
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500

        sqs = plain.client("sqs")
        queue, policy = _make_queue_with_redrive(sqs, "plain")
        got = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["RedrivePolicy"])["Attributes"]
        assert got["RedrivePolicy"] != policy  # re-serialized: spaces, maxReceiveCount as a number

        dlq_arn = json.loads(policy)["deadLetterTargetArn"]
        assert "DeadLetterConfig" not in _make_function(plain, "plain-fn", dlq_arn)

        events = plain.client("events")
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(Name="plain", EventPattern=json.dumps({"source": ["canary"]}))
        events.put_targets(Rule="plain", Targets=[{"Id": "q", "Arn": queue_arn}])
        _put(events, "canary", {})
        (delivered,) = _drain(sqs, queue, quiet_seconds=0.5)
        assert "account" not in delivered

        function_arn = plain.client("lambda").get_function(FunctionName="plain-fn")["Configuration"][
            "FunctionArn"
        ]
        events.put_targets(Rule="plain", Targets=[{"Id": "fn", "Arn": function_arn}])
        with pytest.raises(ClientError) as err:
            events.put_events(Entries=[{"Source": "canary", "DetailType": "x", "Detail": "{}"}])
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500

        (only,) = _described_containers(plain)  # the first container definition only
        assert (only["name"], only["image"]) == ("web", "public.example/web:1")


def test_state_machine_validation_and_versions(moto_server: ms.MotoServer) -> None:
    sfn = moto_server.client("stepfunctions")
    ok = sfn.validate_state_machine_definition(definition=GOOD_ASL)
    assert (ok["result"], ok["diagnostics"]) == ("OK", [])

    bad = sfn.validate_state_machine_definition(
        definition=json.dumps({"StartAt": "Missing", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}})
    )
    assert bad["result"] == "FAIL"
    assert {d["location"] for d in bad["diagnostics"]} >= {"/StartAt", "/States/A/Next"}
    assert all(d["severity"] == "ERROR" for d in bad["diagnostics"])
    assert sfn.validate_state_machine_definition(definition="{not json")["diagnostics"][0]["code"] == (
        "INVALID_JSON_DESCRIPTION"
    )

    role = "arn:aws:iam::123456789012:role/sfn-versions"
    arn = sfn.create_state_machine(name="versions", definition=GOOD_ASL, roleArn=role, publish=True)[
        "stateMachineArn"
    ]
    sfn.update_state_machine(stateMachineArn=arn, definition=GOOD_ASL, publish=True)
    versions = sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in versions] == [f"{arn}:2", f"{arn}:1"]
    unversioned = sfn.create_state_machine(name="unversioned", definition=GOOD_ASL, roleArn=role)[
        "stateMachineArn"
    ]
    assert sfn.list_state_machine_versions(stateMachineArn=unversioned)["stateMachineVersions"] == []
    with pytest.raises(ClientError) as err:
        sfn.list_state_machine_versions(stateMachineArn=arn.replace(":versions", ":absent"))
    assert err.value.response["Error"]["Code"] == "StateMachineDoesNotExist"


def test_lambda_dead_letter_config_and_sqs_redrive_round_trip(moto_server: ms.MotoServer) -> None:
    sqs = moto_server.client("sqs")
    queue, policy = _make_queue_with_redrive(sqs, "shimmed")
    got = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert got["RedrivePolicy"] == policy
    dlq_arn = json.loads(policy)["deadLetterTargetArn"]

    lam = moto_server.client("lambda")
    assert _make_function(moto_server, "shimmed-fn", dlq_arn)["DeadLetterConfig"] == {"TargetArn": dlq_arn}
    assert lam.get_function(FunctionName="shimmed-fn")["Configuration"]["DeadLetterConfig"] == {
        "TargetArn": dlq_arn
    }
    lam.update_function_configuration(FunctionName="shimmed-fn", DeadLetterConfig={"TargetArn": ""})
    assert "DeadLetterConfig" not in lam.get_function_configuration(FunctionName="shimmed-fn")


def test_put_events_with_lambda_and_state_machine_targets(moto_server: ms.MotoServer) -> None:
    sqs, events = moto_server.client("sqs"), moto_server.client("events")
    queue = sqs.create_queue(QueueName="mixed-targets")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    fn_arn = "arn:aws:lambda:us-east-1:123456789012:function:mixed"
    sm_arn = "arn:aws:states:us-east-1:123456789012:stateMachine:mixed"
    events.put_rule(
        Name="mixed", EventPattern=json.dumps({"source": ["mixed.app"], "detail": {"ok": [True]}})
    )
    events.put_targets(
        Rule="mixed",
        Targets=[
            {"Id": "fn", "Arn": fn_arn},
            {"Id": "q", "Arn": queue_arn},
            {"Id": "sm", "Arn": sm_arn, "RoleArn": "arn:aws:iam::123456789012:role/events"},
        ],
    )
    matching = _put(events, "mixed.app", {"ok": True})
    _put(events, "mixed.app", {"ok": False})
    _put(events, "other.app", {"ok": True})

    delivered = _drain(sqs, queue)
    assert [e["id"] for e in delivered] == [matching]
    assert delivered[0]["account"] == ms.ACCOUNT_ID
    recorded = moto_server.deliveries()
    mine = [d for d in recorded if d["rule"] == "mixed"]
    assert sorted((d["target_arn"], d["event"]["id"]) for d in mine) == sorted(
        [(fn_arn, matching), (sm_arn, matching)]
    )
    assert all(d["event"]["account"] == ms.ACCOUNT_ID and d["event"]["detail"] == {"ok": True} for d in mine)


def test_reset_drops_resources_and_recorded_deliveries(tmp_path: Path) -> None:
    with ms.running_moto_server(tmp_path) as server:
        events = server.client("events")
        events.put_rule(Name="r", EventPattern=json.dumps({"source": ["s"]}))
        events.put_targets(
            Rule="r", Targets=[{"Id": "fn", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:f"}]
        )
        _put(events, "s", {})
        assert len(server.deliveries()) == 1
        server.reset()
        assert server.deliveries() == []
        assert events.list_rules()["Rules"] == []


# ---------------------------------------------------------------------------------------------------------
# Terraform: apply the smoke root, no drift, events through the rule, destroy
# ---------------------------------------------------------------------------------------------------------


def _terraform(root: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH")
    return subprocess.run(
        [terraform, *args, "-no-color"],
        cwd=root,
        env=ms.terraform_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.slow
def test_terraform_smoke_root_applies_without_drift_and_routes_events(
    moto_server: ms.MotoServer, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    shutil.copytree(FIXTURE_ROOT, root, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    zip_path = tmp_path / "function.zip"
    zip_path.write_bytes(_zip_bytes())
    ms.write_provider_override(root, moto_server.endpoint)
    var = f"-var=lambda_zip_path={zip_path}"

    init = _terraform(root, "init", "-input=false")
    assert init.returncode == 0, init.stderr
    applied = _terraform(root, "apply", "-auto-approve", "-input=false", var)
    try:
        assert applied.returncode == 0, applied.stderr + applied.stdout[-3000:]
        plan = _terraform(root, "plan", "-detailed-exitcode", "-input=false", var)
        assert plan.returncode == 0, (
            f"second plan is not empty (exit {plan.returncode}):\n{plan.stdout[-4000:]}"
        )
        outputs = {k: v["value"] for k, v in json.loads(_terraform(root, "output", "-json").stdout).items()}

        events, sqs = moto_server.client("events"), moto_server.client("sqs")
        matching = _put(
            events, "qscan.smoke", {"action-type": "PUSH", "result": "SUCCESS", "repository-name": "app"}
        )
        _put(events, "qscan.other", {"action-type": "PUSH", "result": "SUCCESS"})  # wrong source
        _put(events, "qscan.smoke", {"action-type": "PUSH", "result": "FAILURE"})  # wrong detail
        _put(events, "qscan.smoke", {"action-type": "DELETE", "result": "SUCCESS"})  # wrong detail

        delivered = _drain(sqs, outputs["queue_url"])
        assert [e["id"] for e in delivered] == [matching]
        (event,) = delivered
        assert event["account"] == ms.ACCOUNT_ID
        assert (event["source"], event["region"]) == ("qscan.smoke", ms.REGION)
        assert event["detail"]["repository-name"] == "app"
        # The Lambda and Step Functions targets got the matching event too (recorded by the shim, which also
        # starts the state machine's execution; the function is not invoked).
        recorded = [d for d in moto_server.deliveries() if d["rule"] == outputs["rule_name"]]
        assert sorted((d["target_arn"], d["event"]["id"]) for d in recorded) == sorted(
            [(outputs["function_arn"], matching), (outputs["state_machine_arn"], matching)]
        )
        assert _drain(sqs, outputs["dlq_url"], quiet_seconds=0.3) == []
    finally:
        destroyed = _terraform(root, "destroy", "-auto-approve", "-input=false", "-refresh=false", var)
    assert destroyed.returncode == 0, destroyed.stderr
    names = moto_server.client("sqs").list_queues(QueueNamePrefix="qscan-smoke").get("QueueUrls", [])
    assert names == []


def test_a_task_describes_every_container_of_its_definition(moto_server: ms.MotoServer) -> None:
    containers = _described_containers(moto_server)
    assert [(c["name"], c["image"]) for c in containers] == [
        ("web", "public.example/web:1"),
        ("sidecar", "public.example/sidecar:2"),
    ]
    task_arns = {c["taskArn"] for c in containers}
    assert len(task_arns) == 1 and ":task/" in task_arns.pop()  # the task's ARN, not the definition's
