"""environments/local applied on a shimmed moto server: no drift, real routing, real redrive, clean destroy.

One apply per module (about 1.5 minutes: the AWS provider waits ~25 s after every SQS queue write and each
scanner's queue chain is three writes long; the ECR and Lambda chains run in parallel), shared by the tests below; destroyed at the end (the teardown asserts it).
The root and its modules are copied into a temporary tree with a fake `make package` manifest, so the repo's
environments/local keeps no state. Also here: canaries for the moto gaps this root needed shims for.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.harness import event_patterns, fargate_env, tf_env
from tests.harness import moto_server as ms

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass
class Applied:
    server: ms.MotoServer
    root: Path
    manifest: Path
    outputs: dict[str, Any]


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Applied]:
    work = tmp_path_factory.mktemp("env-local")
    with ms.running_moto_server(work / "moto") as server:
        root = tf_env.copy_root("local", work)
        manifest = tf_env.fake_manifest(work)
        ms.write_provider_override(root, server.endpoint)
        tf_env.checked(tf_env.terraform(root, "init", "-input=false"), "terraform init")
        var = f"-var=manifest_path={manifest}"
        try:
            tf_env.checked(tf_env.terraform(root, "apply", "-auto-approve", "-input=false", var), "apply")
            yield Applied(server, root, manifest, tf_env.outputs(root))
        finally:
            destroyed = tf_env.terraform(
                root, "destroy", "-auto-approve", "-input=false", "-refresh=false", var
            )
        tf_env.checked(destroyed, "terraform destroy")
        assert server.client("sqs").list_queues().get("QueueUrls", []) == []
        assert server.client("lambda").list_functions()["Functions"] == []


def drain(sqs: Any, url: str, quiet_seconds: float = 1.0, limit: float = 15.0) -> list[dict[str, Any]]:
    """Receive (and delete) until the queue stays empty for `quiet_seconds`; returns the parsed bodies."""
    bodies: list[dict[str, Any]] = []
    deadline, quiet_since = time.monotonic() + limit, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - quiet_since < quiet_seconds:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if messages:
            quiet_since = time.monotonic()
        else:
            time.sleep(0.1)
    return bodies


def test_second_plan_is_empty(applied: Applied) -> None:
    plan = tf_env.terraform(
        applied.root, "plan", "-detailed-exitcode", "-input=false", f"-var=manifest_path={applied.manifest}"
    )
    assert plan.returncode == 0, (
        f"perpetual diff (exit {plan.returncode}):\n{plan.stdout[-5000:]}{plan.stderr}"
    )


def _check_scanner(
    server: ms.MotoServer, function: str, queue_url: str, dlq_url: str, rules: list[str]
) -> None:
    lam = server.client("lambda")
    config = lam.get_function_configuration(FunctionName=function)
    assert (config["MemorySize"], config["Timeout"]) == (128, 60)
    sqs = server.client("sqs")
    queue = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(queue["RedrivePolicy"])
    assert (redrive["deadLetterTargetArn"], redrive["maxReceiveCount"]) == (dlq["QueueArn"], 2)
    # The handler's retry settings name the real DLQ and attempts (qscan.aws.sqs_retry), and the queues admit
    # the scanner's role (deferred copies to the queue, dead letters to the DLQ).
    env = config["Environment"]["Variables"]
    assert (env["QSCAN_DEAD_LETTER_QUEUE_ARN"], env["QSCAN_MAX_RECEIVE_COUNT"]) == (dlq["QueueArn"], "2")
    for attributes in (queue, dlq):
        principals = [s.get("Principal") for s in json.loads(attributes["Policy"])["Statement"]]
        assert {"AWS": config["Role"]} in principals
    assert json.loads(dlq["RedriveAllowPolicy"])["sourceQueueArns"] == [queue["QueueArn"]]
    allowed = json.loads(queue["Policy"])["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"]
    found = server.client("events").list_rules(NamePrefix="qscan-local")["Rules"]
    # The queue admits exactly the scanner's own rules.
    assert sorted([allowed] if isinstance(allowed, str) else allowed) == sorted(
        rule["Arn"] for rule in found if rule["Name"] in rules
    )


def test_local_sizing_and_wiring(applied: Applied) -> None:
    server, out = applied.server, applied.outputs
    lam = server.client("lambda")
    # No event source mapping: moto would try to run the function in Docker for every message.
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []
    config = lam.get_function_configuration(FunctionName=out["function_name"])
    env = config["Environment"]["Variables"]
    assert env["QSCAN_DEDUPE_TABLE"] == out["dedupe_table_name"]
    assert env["QSCAN_RESULTS_BUCKET"] == out["results_bucket_name"]
    assert env["QSCAN_ALERT_TOPIC_ARN"] == out["alert_topic_arn"]
    assert env["QSCAN_QUALYS_SECRET_ARN"] == out["qualys_secret_arn"]
    lambda_env = lam.get_function_configuration(FunctionName=out["lambda_function_name"])["Environment"][
        "Variables"
    ]
    assert lambda_env["QSCAN_DEDUPE_TABLE"] == out["dedupe_table_name"]
    # the Lambda scanner, the ECR scanner and the Fargate task function
    own = ["qscan-local-lambda-scanner", out["function_name"], out["fargate_function_name"]]
    assert out["lambda_self_function_names"] == own and out["function_name"] == "qscan-local-ecr-scanner"
    assert lambda_env["QSCAN_SELF_FUNCTION_NAMES"] == ",".join(own)
    assert "QSCAN_SELF_FUNCTION_PREFIX" not in lambda_env

    _check_scanner(server, out["function_name"], out["queue_url"], out["dlq_url"], out["event_rule_names"])
    _check_scanner(
        server,
        out["lambda_function_name"],
        out["lambda_queue_url"],
        out["lambda_dlq_url"],
        [out["lambda_rule_name"]],
    )
    rules = server.client("events").list_rules(NamePrefix="qscan-local")["Rules"]
    assert sorted(rule["Name"] for rule in rules) == sorted(
        [*out["event_rule_names"], out["lambda_rule_name"], *out["fargate_rule_names"].values()]
    )
    # No trail locally (moto delivers no CloudTrail events; the demo puts CloudTrail-shaped events itself).
    assert server.client("cloudtrail").describe_trails()["trailList"] == []


def test_only_matching_events_reach_the_scan_queue(applied: Applied) -> None:
    server, out = applied.server, applied.outputs
    events, sqs = server.client("events"), server.client("sqs")
    delivered = {
        event_patterns.put_fixture(events, "ecr_push"),
        event_patterns.put_fixture(events, "ecr_cloudtrail_put_image"),
        event_patterns.put_fixture(events, "ecr_push_untagged_manifest"),
    }
    lambda_delivered = {
        event_patterns.put_fixture(events, "lambda_create_function_zip"),
        event_patterns.put_fixture(events, "lambda_update_function_code_zip"),
        event_patterns.put_fixture(events, "lambda_update_function_configuration_layers"),
    }
    for fixture in (
        "ecr_delete",
        "ecr_push_failed",
        "ecr_cloudtrail_put_image_error",
        "unsupported_s3_object_created",
        "lambda_update_function_code_failed",
    ):
        event_patterns.put_fixture(events, fixture)
    bodies = drain(sqs, out["queue_url"])
    assert sorted(body["id"] for body in bodies) == sorted(delivered)
    assert all(body["account"] == ms.ACCOUNT_ID and body["source"] == "aws.ecr" for body in bodies)
    lambda_bodies = drain(sqs, out["lambda_queue_url"])
    assert sorted(body["id"] for body in lambda_bodies) == sorted(lambda_delivered)
    assert all(body["source"] == "aws.lambda" for body in lambda_bodies)
    assert drain(sqs, out["dlq_url"], quiet_seconds=0.3) == []
    assert drain(sqs, out["lambda_dlq_url"], quiet_seconds=0.3) == []


def test_fargate_rules_start_the_state_machine_sized_for_a_demo(applied: Applied) -> None:
    definition, config = fargate_env.checked_wiring(applied.server, applied.outputs)
    assert definition["TimeoutSeconds"] == 300
    assert (config["MemorySize"], config["Timeout"], config.get("Layers", [])) == (128, 60, [])
    env = config["Environment"]["Variables"]
    assert (env["QSCANNER_PATH"], env["QSCAN_SCANNER_BACKEND"]) == ("/opt/bin/qscanner", "qscanner")
    assert env["QSCAN_DEDUPE_TABLE"] == applied.outputs["dedupe_table_name"]


def test_ecs_calls_reach_the_state_machine(applied: Applied) -> None:
    fargate_env.routed_ecs_calls(applied.server, applied.outputs)


def test_a_message_received_max_receive_count_times_moves_to_the_dlq(applied: Applied) -> None:
    sqs, out = applied.server.client("sqs"), applied.outputs
    body = json.dumps({"probe": "redrive", "at": time.time()})
    sqs.send_message(QueueUrl=out["queue_url"], MessageBody=body)
    for attempt in (1, 2):  # received, not deleted, visible again at once (a failed record)
        got = sqs.receive_message(
            QueueUrl=out["queue_url"], WaitTimeSeconds=1, VisibilityTimeout=0, AttributeNames=["All"]
        )["Messages"]
        assert [int(m["Attributes"]["ApproximateReceiveCount"]) for m in got] == [attempt]
    assert sqs.receive_message(QueueUrl=out["queue_url"], WaitTimeSeconds=0).get("Messages", []) == []
    moved = sqs.receive_message(QueueUrl=out["dlq_url"], WaitTimeSeconds=1).get("Messages", [])
    assert [m["Body"] for m in moved] == [body]
    sqs.delete_message(QueueUrl=out["dlq_url"], ReceiptHandle=moved[0]["ReceiptHandle"])


def test_results_bucket_accepts_writes_despite_the_tls_only_policy(applied: Applied) -> None:
    s3 = applied.server.client("s3")
    bucket = applied.outputs["results_bucket_name"]
    s3.put_object(Bucket=bucket, Key="results/ecr/probe.json", Body=b"{}")
    assert s3.get_object(Bucket=bucket, Key="results/ecr/probe.json")["Body"].read() == b"{}"
    s3.delete_object(Bucket=bucket, Key="results/ecr/probe.json")


# ---------------------------------------------------------------------------------------------------------
# The moto gaps environments/local needed shims for (tests/harness/moto_shims.py)
# ---------------------------------------------------------------------------------------------------------

TLS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::gap-bucket", "arn:aws:s3:::gap-bucket/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}
ALLOW_POLICY = json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": ["arn:aws:sqs:us-east-1:1:x"]})
QUEUE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*"}],
    }
)


def _probe_gaps(server: ms.MotoServer, name: str) -> dict[str, Any]:
    sqs, s3 = server.client("sqs"), server.client("s3")
    url = sqs.create_queue(QueueName=name, Attributes={"Policy": QUEUE_POLICY})["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedriveAllowPolicy": ALLOW_POLICY})
    found: dict[str, Any] = {
        "all": sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    }
    try:
        found["named"] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedriveAllowPolicy"])[
            "Attributes"
        ]
    except ClientError as exc:
        found["named"] = exc.response["Error"]["Code"]
    bucket = "gap-bucket"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(TLS_ONLY))
    try:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        found["put_object"] = "ok"
    except ClientError as exc:
        found["put_object"] = exc.response["ResponseMetadata"]["HTTPStatusCode"]
    versioned = "gap-versioned"
    s3.create_bucket(Bucket=versioned)
    s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=versioned, Key="k", Body=b"x")
    s3.delete_object(Bucket=versioned, Key="k")  # leaves a delete marker
    s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Suspended"})
    listed = s3.list_object_versions(Bucket=versioned)
    every = [
        {"Key": v["Key"], "VersionId": v["VersionId"]}
        for v in listed.get("Versions", []) + listed.get("DeleteMarkers", [])
    ]
    try:
        s3.delete_objects(Bucket=versioned, Delete={"Objects": every, "Quiet": True})
        found["empty_suspended_bucket"] = "ok"
    except ClientError as exc:
        found["empty_suspended_bucket"] = exc.response["ResponseMetadata"]["HTTPStatusCode"]
    return found


def test_sqs_and_s3_gaps_exist_in_plain_moto(tmp_path: Path) -> None:
    """Canary: when a moto upgrade closes a gap, this fails and the matching shim should go."""
    with ms.running_moto_server(tmp_path, skip_shims=["all"]) as plain:
        found = _probe_gaps(plain, "gap-plain")
    assert "Policy" not in found["all"]  # wiped by the RedriveAllowPolicy write
    assert "RedriveAllowPolicy" not in found["all"]
    assert found["named"] == "InvalidAttributeName"
    assert found["put_object"] == 403  # the unmet TLS condition counts as an explicit deny
    assert found["empty_suspended_bucket"] == 500  # FakeDeleteMarker has no dispose()


def test_sqs_and_s3_shims(applied: Applied) -> None:
    found = _probe_gaps(applied.server, "gap-shimmed")
    assert json.loads(found["all"]["Policy"]) == json.loads(QUEUE_POLICY)
    assert found["all"]["RedriveAllowPolicy"] == ALLOW_POLICY
    assert found["named"] == {"RedriveAllowPolicy": ALLOW_POLICY}
    assert found["put_object"] == "ok"
    assert found["empty_suspended_bucket"] == "ok"
    sqs, s3 = applied.server.client("sqs"), applied.server.client("s3")
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName="gap-shimmed")["QueueUrl"])
    s3.delete_object(Bucket="gap-bucket", Key="k")
    s3.delete_bucket(Bucket="gap-bucket")
    s3.delete_bucket(Bucket="gap-versioned")
