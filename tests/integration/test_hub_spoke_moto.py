"""Hub and spokes on ONE moto server with several accounts (issue 13 "Tests", DESIGN §5).

* The bus-to-bus and cross-account PutEvents shims (tests/harness/moto_shims.py): what plain moto does (the
  canary: it fails when a moto upgrade closes the gap) and what the shims do (the envelope kept, the hub bus
  policy enforced for the organization and for listed accounts).
* environments/aws-hub and environments/aws-spoke applied (account B in one region, account C in two, the
  second without the read role) with no-diff second plans; an ECR push on B's default bus and a Lambda
  deployment in C's second region reach the hub's scan queues with their own account and region, are scanned
  by the hub's handlers with the spoke's read role, and their results name the spoke; an account outside the
  organization is refused.
* The rendered bus policy (`terraform show -json`) and the seeds' failure modes: empty organization and account
  lists refused at plan time, the role the scanners assume is the one the spoke created.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.doubles.fake_qscanner import PYTHON_ENV, SCENARIOS_ENV
from tests.harness import hub_spoke_env as hs
from tests.harness import moto_server as ms
from tests.harness import tf_env
from tests.harness.event_patterns import fixture
from tests.harness.handler_world import (
    image_manifest,
    load_server_handler,
    receive_batch,
    recording_scanner,
    zipped,
)
from tests.harness.moto_shims import bus_policy_allows

pytestmark = pytest.mark.integration

OUTSIDER = "222233334444"  # not in the organization, not listed
LISTED = "333344445555"  # not in the organization, listed by account id


def _drain(sqs: Any, queue_url: str, expected: int, limit: float = 10.0) -> list[dict[str, Any]]:
    """Receive messages until `expected` arrived or `limit` seconds passed, then once more for stragglers."""
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        got = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]
        ).get("Messages", [])
        for message in got:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(got)
        if len(messages) >= expected and not got:
            break
        if not got:
            time.sleep(0.1)
    return messages


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return str(url), str(arn)


def _policy(org_id: str, bus_arn: str) -> str:
    """The shape modules/aws-hub renders: the organization by aws:PrincipalOrgID, one listed account."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OrganizationPutEvents",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "events:PutEvents",
                    "Resource": bus_arn,
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}},
                },
                {
                    "Sid": "AccountsPutEvents",
                    "Effect": "Allow",
                    "Principal": {"AWS": [f"arn:aws:iam::{LISTED}:root"]},
                    "Action": "events:PutEvents",
                    "Resource": bus_arn,
                },
            ],
        }
    )


def _bus_world(server: ms.MotoServer, org_id: str, spokes: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The hub bus (hub account, us-east-1) with the policy and a rule into a hub queue; in every spoke
    account (→ region) a default-bus rule forwarding `source: spoke.test` to the hub bus, with a DLQ.
    Returns the hub queue URL and the spokes' DLQ URLs."""
    events, sqs = server.client("events"), server.client("sqs")
    bus_arn = events.create_event_bus(Name=hs.HUB_BUS)["EventBusArn"]
    events.put_permission(EventBusName=hs.HUB_BUS, Policy=_policy(org_id, bus_arn))
    hub_queue, hub_queue_arn = _queue(sqs, "hub-inbox")
    events.put_rule(
        Name="inbox", EventBusName=hs.HUB_BUS, EventPattern=json.dumps({"source": ["spoke.test"]})
    )
    events.put_targets(Rule="inbox", EventBusName=hs.HUB_BUS, Targets=[{"Id": "q", "Arn": hub_queue_arn}])
    dlqs = {}
    for account, region in spokes.items():
        spoke_events = hs.account_client(server, "events", account, region)
        dlq, dlq_arn = _queue(hs.account_client(server, "sqs", account, region), f"fwd-dlq-{account}")
        spoke_events.put_rule(Name="fwd", EventPattern=json.dumps({"source": ["spoke.test"]}))
        spoke_events.put_targets(
            Rule="fwd",
            Targets=[
                {
                    "Id": "hub",
                    "Arn": bus_arn,
                    "RoleArn": f"arn:aws:iam::{account}:role/fwd",
                    "DeadLetterConfig": {"Arn": dlq_arn},
                }
            ],
        )
        dlqs[account] = dlq
    return hub_queue, dlqs


def _put(events: Any, **extra: Any) -> str:
    entry = {"Source": "spoke.test", "DetailType": "Probe", "Detail": json.dumps({"n": 1}), **extra}
    response = events.put_events(Entries=[entry])
    assert response["FailedEntryCount"] == 0, response
    return str(response["Entries"][0]["EventId"])


# ---------------------------------------------------------------------------------------------------------
# The shims
# ---------------------------------------------------------------------------------------------------------


def test_plain_moto_rewrites_forwarded_envelopes_and_ignores_the_bus_policy(tmp_path: Path) -> None:
    """Canary: if a moto upgrade keeps the envelope, enforces bus policies or routes cross-account PutEvents,
    this fails and the bus-to-bus / PutEvents shims should be dropped."""
    with ms.running_moto_server(tmp_path, skip_shims=["all"]) as plain:
        hub_queue, _ = _bus_world(plain, "o-aaaaaaaaaa", {OUTSIDER: "eu-west-1"})
        sent = _put(hs.account_client(plain, "events", OUTSIDER, "eu-west-1"), Resources=["arn:aws:x:probe"])
        (message,) = _drain(plain.client("sqs"), hub_queue, 1)
        delivered = json.loads(message["Body"])
        # Delivered although the policy does not admit the sender, with a new id, region and resources.
        assert delivered["id"] != sent
        assert (delivered["region"], delivered["resources"], delivered.get("account")) == (
            "us-east-1",
            [],
            None,
        )

        hub_arn = plain.client("events").describe_event_bus(Name=hs.HUB_BUS)["Arn"]
        with pytest.raises(ClientError) as err:
            _put(hs.account_client(plain, "events", OUTSIDER), EventBusName=hub_arn)
        assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_forwarded_events_keep_their_envelope_and_the_bus_policy_is_enforced(
    moto_server: ms.MotoServer,
) -> None:
    moto_server.reset()
    org = hs.organization(moto_server, 1)
    (member,) = org.members
    spokes = {member: "eu-west-1", LISTED: "us-east-1", OUTSIDER: "us-east-1"}
    hub_queue, dlqs = _bus_world(moto_server, org.id, spokes)
    when = "2026-12-01T10:11:12Z"
    sent = {
        account: _put(
            hs.account_client(moto_server, "events", account, region),
            Resources=[f"arn:aws:x:{account}"],
            Time=when,
        )
        for account, region in spokes.items()
    }
    sqs = moto_server.client("sqs")
    delivered = [json.loads(m["Body"]) for m in _drain(sqs, hub_queue, 2)]
    assert sorted(
        (e["account"], e["region"], e["id"], tuple(e["resources"]), e["time"]) for e in delivered
    ) == sorted(
        (account, spokes[account], sent[account], (f"arn:aws:x:{account}",), when)
        for account in (member, LISTED)
    )
    # The outsider's event went to its target's dead-letter queue, as EventBridge does; the others' did not.
    for account, region in spokes.items():
        dead = _drain(hs.account_client(moto_server, "sqs", account, region), dlqs[account], 0, limit=1.0)
        if account != OUTSIDER:
            assert dead == []
            continue
        (letter,) = dead
        assert letter["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"
        assert json.loads(letter["Body"])["id"] == sent[OUTSIDER]


def test_cross_account_put_events_needs_the_bus_policy(moto_server: ms.MotoServer) -> None:
    moto_server.reset()
    org = hs.organization(moto_server, 1)
    (member,) = org.members
    hub_queue, _ = _bus_world(moto_server, org.id, {})
    hub_arn = moto_server.client("events").describe_event_bus(Name=hs.HUB_BUS)["Arn"]
    with pytest.raises(ClientError) as err:
        _put(hs.account_client(moto_server, "events", OUTSIDER), EventBusName=hub_arn)
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    sent = _put(hs.account_client(moto_server, "events", member), EventBusName=hub_arn)
    (message,) = _drain(moto_server.client("sqs"), hub_queue, 1)
    event = json.loads(message["Body"])
    assert (event["id"], event["account"], event["region"]) == (sent, member, ms.REGION)


@pytest.mark.parametrize(
    ("statement", "account", "org_id", "allowed"),
    [
        (
            {"Principal": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}},
            "111111111111",
            "o-1",
            True,
        ),
        (
            {"Principal": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}},
            "111111111111",
            "o-2",
            False,
        ),
        (
            {"Principal": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}},
            "111111111111",
            None,
            False,
        ),
        ({"Principal": {"AWS": "arn:aws:iam::111111111111:root"}}, "111111111111", None, True),
        ({"Principal": {"AWS": ["111111111111"]}}, "111111111111", None, True),
        ({"Principal": {"AWS": ["arn:aws:iam::111111111111:root"]}}, "999999999999", None, False),
        ({"Principal": "*", "Action": "events:PutRule"}, "111111111111", None, False),
        (
            {"Principal": "*", "Resource": "arn:aws:events:us-east-1:123456789012:event-bus/other"},
            "1",
            None,
            False,
        ),
        (
            {"Principal": "*", "Condition": {"StringLike": {"aws:PrincipalOrgID": "o-*"}}},
            "111111111111",
            "o-1",
            False,
        ),
        ({"Principal": "*"}, "111111111111", None, True),
    ],
)
def test_bus_policy_evaluation(
    statement: dict[str, Any], account: str, org_id: str | None, allowed: bool
) -> None:
    bus = "arn:aws:events:us-east-1:123456789012:event-bus/qscan-hub"
    full = {"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus, **statement}
    assert bus_policy_allows(json.dumps({"Statement": [full]}), account, org_id, bus) is allowed


def test_bus_policy_deny_wins_and_no_policy_admits_nobody() -> None:
    bus = "arn:aws:events:us-east-1:123456789012:event-bus/qscan-hub"
    allow = {"Effect": "Allow", "Principal": "*", "Action": "events:*", "Resource": "*"}
    deny = {**allow, "Effect": "Deny", "Principal": {"AWS": "111111111111"}}
    assert bus_policy_allows(json.dumps({"Statement": [allow, deny]}), "111111111111", None, bus) is False
    assert bus_policy_allows(json.dumps({"Statement": [allow, deny]}), "222222222222", None, bus) is True
    assert bus_policy_allows(None, "111111111111", "o-1", bus) is False


# ---------------------------------------------------------------------------------------------------------
# The roots applied: hub + spokes B (one region), C (two regions), D (outside the organization)
# ---------------------------------------------------------------------------------------------------------

TOKEN = "qtok-hub-spoke-7Rw2Lp5Xc"
REPO = "payments/api"
FUNCTION = "orders"
IMAGE_DIGEST = "sha256:" + "5b" * 32  # moto's own digest is not the manifest's: pass it
SECOND_REGION = "eu-west-1"


def _handler(
    server: ms.MotoServer,
    platform: str,
    function: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    scenarios: Path,
) -> tuple[Any, Path]:
    """The hub function's handler, cold-started with the environment Terraform gave the function (the qscanner
    double in place of the layer's binary, recording the credentials it runs with); returns the module and the
    record file."""
    config = server.client("lambda").get_function_configuration(FunctionName=function)
    env = dict(config["Environment"]["Variables"])
    env.pop("QSCANNER_PATH")
    work = tmp_path / function
    work.mkdir()
    record = recording_scanner(work, monkeypatch)
    env |= {
        "QSCAN_AWS_ENDPOINT_URL": server.endpoint,
        PYTHON_ENV: sys.executable,
        SCENARIOS_ENV: str(scenarios),
    }
    return load_server_handler(platform, env, monkeypatch, work), record


def _scan(server: ms.MotoServer, module: Any, rule: str, expected: int) -> list[dict[str, Any]]:
    """Hand the messages the hub rule queued to the handler as a Lambda SQS batch; returns the event bodies."""
    queue_url, queue_name = hs.hub_queue(server, rule)
    records = receive_batch(server, queue_url, queue_name, expected=expected)
    assert len(records) == expected
    assert module.lambda_handler({"Records": records}, None) == {"batchItemFailures": []}
    for record in records:
        server.client("sqs").delete_message(QueueUrl=queue_url, ReceiptHandle=record["receiptHandle"])
    return [json.loads(r["body"]) for r in records]


def _bound_to(server: ms.MotoServer, record: Path) -> str:
    """The account the credentials recorded by the qscanner double act in (sts:GetCallerIdentity)."""
    keys = json.loads(record.read_text())
    assert keys["AWS_SESSION_TOKEN"], "the scanner ran with the function's own credentials"
    identity = (
        boto3.session.Session()
        .client(
            "sts",
            endpoint_url=server.endpoint,
            region_name=ms.REGION,
            aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=keys["AWS_SESSION_TOKEN"],
        )
        .get_caller_identity()
    )
    return str(identity["Account"])


def _trust(role: dict[str, Any]) -> dict[str, Any]:
    document = role["AssumeRolePolicyDocument"]
    return json.loads(urllib.parse.unquote(document)) if isinstance(document, str) else dict(document)


@dataclass(frozen=True)
class Applied:
    """The applied roots: the organization (members B and C), the hub's root and outputs, the spokes' outputs."""

    org: hs.Organization
    hub_root: Path
    hub: dict[str, Any]
    spokes: dict[hs.Spoke, dict[str, Any]]

    def spoke(self, account: str, region: str = ms.REGION) -> dict[str, Any]:
        return next(
            out for spoke, out in self.spokes.items() if (spoke.account, spoke.region) == (account, region)
        )


def _apply_all(server: ms.MotoServer, scratch: Path) -> Applied:
    """The hub, spokes B, C, C's second region (no read role) and D (outside the organization, not listed)."""
    org = hs.organization(server, 2)
    b, c = org.members
    hub_root, hub = hs.apply_hub(server, scratch, org)
    spokes = [
        hs.Spoke(b, "us-east-1"),
        hs.Spoke(c, "us-east-1"),
        hs.Spoke(c, SECOND_REGION, create_read_role=False),
        hs.Spoke(OUTSIDER, "us-east-1"),
    ]
    return Applied(org, hub_root, hub, hs.apply_spokes(server, scratch, spokes, hub["spoke_config"]))


@pytest.mark.slow
def test_hub_and_spokes_apply_forward_and_scan_across_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One test, so that pytest-xdist never applies the roots twice: the roots of `_apply_all` on one server;
    no-diff second plans; the bus policy's plan; then an ECR push in B and a Lambda deployment in C's second
    region scanned by the hub with the spoke's read role, and D's push refused by the hub bus policy."""
    with ms.running_moto_server(tmp_path / "moto") as server:
        applied = _apply_all(server, tmp_path)
        roots = [applied.hub_root, *(out["root"] for out in applied.spokes.values())]
        for root, plan in hs.no_diff(roots).items():
            assert plan.returncode == 0, (
                f"{root}: perpetual diff (exit {plan.returncode}):\n{plan.stdout[-4000:]}"
            )
        _check_bus_policy_plans(applied.hub_root, applied.org, applied.org.members[0])
        _check_names_and_roles(server, applied)
        _check_forwarded_scans(server, applied, tmp_path, monkeypatch)


def _check_names_and_roles(server: ms.MotoServer, applied: Applied) -> None:
    """A second region of C: its own forwarding role and rules (no name collision), no read role. The role the
    scanners assume (their QSCAN_SPOKE_ROLE_NAME) is the one the spokes created, trusting the scanner roles with
    the hub's ExternalId and organization."""
    b, c = applied.org.members
    hub = applied.hub
    c_home, c_second = applied.spoke(c), applied.spoke(c, SECOND_REGION)
    assert c_home["forward_role_arn"] != c_second["forward_role_arn"]
    assert set(c_home["rule_names"].values()).isdisjoint(c_second["rule_names"].values())
    assert c_second.get("read_role_arn") is None
    assert c_home["read_role_arn"] == f"arn:aws:iam::{c}:role/qscan-spoke-read"
    lam = server.client("lambda")
    for platform, function in (("ecr", hub["ecr_function_name"]), ("lambda", hub["lambda_function_name"])):
        variables = lam.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
        assert variables["QSCAN_SPOKE_ROLE_NAME"] == applied.spoke(b)["read_role_name"]
        for account in (b, c):
            iam = hs.account_client(server, "iam", account)
            (statement,) = _trust(iam.get_role(RoleName=variables["QSCAN_SPOKE_ROLE_NAME"])["Role"])[
                "Statement"
            ]
            principals = statement["Principal"]["AWS"]
            assert hub["scanner_role_arns"][platform] in (
                principals if isinstance(principals, list) else [principals]
            )
            assert statement["Condition"]["StringEquals"] == {
                "sts:ExternalId": variables["QSCAN_SPOKE_EXTERNAL_ID"],
                "aws:PrincipalOrgID": applied.org.id,
            }


def _check_forwarded_scans(
    server: ms.MotoServer, applied: Applied, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b, c = applied.org.members
    hub = applied.hub
    secret = hub["qualys_secret_arn"]
    server.client("secretsmanager").put_secret_value(
        SecretId=secret, SecretString=json.dumps({"pod": "US1", "access_token": TOKEN})
    )
    scenarios = tmp_path / "scenarios.json"
    scenarios.write_text(json.dumps({"default": {"findings": [{"qid": "9001", "severity": 5}]}}))
    bucket = hub["results_bucket_name"]

    # 1. An ECR push on B's default bus, and the same push on D's.
    pushed = {}
    for account in (b, OUTSIDER):
        ecr = hs.account_client(server, "ecr", account)
        ecr.create_repository(repositoryName=REPO)
        ecr.put_image(
            repositoryName=REPO,
            imageManifest=image_manifest("sha256:" + "1" * 64, 7),
            imageTag="2.0",
            imageDigest=IMAGE_DIGEST,
        )
        detail = {
            "result": "SUCCESS",
            "repository-name": REPO,
            "image-digest": IMAGE_DIGEST,
            "action-type": "PUSH",
            "image-tag": "2.0",
        }
        pushed[account] = _put_on(
            hs.account_client(server, "events", account), "aws.ecr", "ECR Image Action", detail
        )
    ecr_module, ecr_record = _handler(
        server, "ecr", hub["ecr_function_name"], monkeypatch, tmp_path, scenarios
    )
    (event,) = _scan(server, ecr_module, hs.ECR_RULE, expected=1)
    assert (event["account"], event["region"], event["id"]) == (b, "us-east-1", pushed[b])
    assert _bound_to(server, ecr_record) == b
    documents = hs.result_documents(server, bucket, f"ecr/{b}/us-east-1/{REPO}/")
    assert [(d["target"]["account"], d["target"]["region"]) for d in documents] == [(b, "us-east-1")]
    # D's push never reached the hub: EventBridge put it into D's forwarding dead-letter queue.
    letters = _drain(hs.account_client(server, "sqs", OUTSIDER), applied.spoke(OUTSIDER)["dlq_url"], 1)
    (letter,) = [m for m in letters if json.loads(m["Body"])["id"] == pushed[OUTSIDER]]
    assert letter["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"

    # 2. A Lambda deployment in C's second region (CloudTrail-shaped: moto emits no CloudTrail events).
    second = SECOND_REGION
    iam = hs.account_client(server, "iam", c, second)
    role_arn = iam.create_role(RoleName="orders-exec", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    created = hs.account_client(server, "lambda", c, second).create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": zipped(FUNCTION)},
    )
    detail = fixture("lambda_create_function_zip")["detail"]
    detail["awsRegion"] = second
    detail["requestParameters"]["functionName"] = FUNCTION
    detail["responseElements"] |= {
        "functionName": FUNCTION,
        "functionArn": created["FunctionArn"],
        "codeSha256": created["CodeSha256"],
    }
    deployed = _put_on(
        hs.account_client(server, "events", c, second),
        "aws.lambda",
        "AWS API Call via CloudTrail",
        detail,
    )
    lambda_module, lambda_record = _handler(
        server, "lambda", hub["lambda_function_name"], monkeypatch, tmp_path, scenarios
    )
    (event,) = _scan(server, lambda_module, hs.LAMBDA_RULE, expected=1)
    assert (event["account"], event["region"], event["id"]) == (c, second, deployed)
    assert _bound_to(server, lambda_record) == c
    documents = hs.result_documents(server, bucket, f"lambda/{c}/{second}/{FUNCTION}/")
    assert [(d["target"]["account"], d["target"]["function_arn"]) for d in documents] == [
        (c, created["FunctionArn"])
    ]


def _check_bus_policy_plans(hub_root: Path, org: hs.Organization, member: str) -> None:
    """The bus policy as `terraform show -json` renders it for the organization plus a listed account (a plan
    of the applied hub, so the bus ARN is known): the organization only through aws:PrincipalOrgID, the account
    by its root; the outsider admitted by neither. Neither an organization nor accounts: the plan is refused."""
    plan = hs.plan_json(hub_root, f'-var=spoke_account_ids=["{LISTED}"]')
    (change,) = [
        c
        for c in plan["resource_changes"]
        if c["address"] == "module.hub.aws_cloudwatch_event_bus_policy.this"
    ]
    assert change["change"]["actions"] == ["update"]
    policy = change["change"]["after"]["policy"]
    bus_arn = f"arn:aws:events:{ms.REGION}:{hs.HUB_ACCOUNT}:event-bus/{hs.HUB_BUS}"
    statements = {s["Sid"]: s for s in json.loads(policy)["Statement"]}
    assert statements["OrganizationPutEvents"]["Principal"] == "*"
    assert statements["OrganizationPutEvents"]["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": org.id}
    }
    assert statements["AccountsPutEvents"]["Principal"] == {"AWS": [f"arn:aws:iam::{LISTED}:root"]}
    assert {s["Resource"] for s in statements.values()} == {bus_arn}
    assert bus_policy_allows(policy, member, org.id, bus_arn)
    assert bus_policy_allows(policy, LISTED, None, bus_arn)
    assert not bus_policy_allows(policy, OUTSIDER, None, bus_arn)

    nobody = hub_root / "nobody.tfvars.json"
    nobody.write_text(json.dumps({"organization_id": None, "spoke_account_ids": []}), encoding="utf-8")
    refused = tf_env.terraform(hub_root, "plan", "-input=false", f"-var-file={nobody.name}")
    assert refused.returncode != 0
    assert "with neither the hub bus admits no spoke at all" in " ".join(refused.stderr.split())
    nobody.unlink()


def _put_on(events: Any, source: str, detail_type: str, detail: dict[str, Any]) -> str:
    response = events.put_events(
        Entries=[{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}]
    )
    assert response["FailedEntryCount"] == 0, response
    return str(response["Entries"][0]["EventId"])
