"""The ECR handler against a moto SERVER, fed by real SQS messages that an EventBridge rule delivered.

This is the local demo's path: every AWS client the handler makes must honour QSCAN_AWS_ENDPOINT_URL (a client
that ignored it would try the real AWS endpoints with fake keys and fail the record). The events reach the scan
queue through EventBridge (moto drops their `account`, which the handler fills with its own), the handler gets
the messages as a Lambda SQS batch and the test deletes what the handler reported as processed.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from qscan import secrets as qscan_secrets
from qscan.results.schema import schema_errors

from tests.doubles.fake_qscanner import PYTHON_ENV, SCENARIOS_ENV, WRAPPER
from tests.harness.moto_server import ACCOUNT_ID, FAKE_ACCESS_KEY, FAKE_SECRET_KEY, REGION, MotoServer

pytestmark = pytest.mark.integration

HANDLER_PATH = Path(__file__).resolve().parents[2] / "handlers" / "aws" / "ecr" / "handler.py"
TOKEN = "qtok-server-9Fh3Kd8Lm2Pq"
REPO = "payments/api"
PUSHED_DIGEST = "sha256:" + "5a" * 32


def _setup(server: MotoServer, scenarios: Path) -> dict[str, str]:
    server.reset()
    dynamodb = server.client("dynamodb")
    dynamodb.create_table(
        TableName="qscan-dedupe",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    server.client("s3").create_bucket(Bucket="qscan-results-server")
    sns, sqs = server.client("sns"), server.client("sqs")
    topic = sns.create_topic(Name="qscan-alerts")["TopicArn"]
    alerts = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    alerts_arn = sqs.get_queue_attributes(QueueUrl=alerts, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=alerts_arn)
    scan_queue = sqs.create_queue(QueueName="qscan-ecr-scan")["QueueUrl"]
    scan_arn = sqs.get_queue_attributes(QueueUrl=scan_queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = server.client("events")
    events.put_rule(
        Name="ecr-push",
        EventPattern=json.dumps(
            {"source": ["aws.ecr"], "detail-type": ["ECR Image Action"], "detail": {"action-type": ["PUSH"]}}
        ),
    )
    events.put_targets(Rule="ecr-push", Targets=[{"Id": "scan-queue", "Arn": scan_arn}])
    secret = server.client("secretsmanager").create_secret(
        Name="qscan/qualys", SecretString=json.dumps({"pod": "US1", "access_token": TOKEN})
    )["ARN"]
    server.client("ecr").create_repository(repositoryName=REPO)
    scenarios.write_text(json.dumps({"default": {"findings": [{"qid": "9001", "severity": 5}]}}))
    return {
        "QSCAN_AWS_ENDPOINT_URL": server.endpoint,
        "QSCAN_DEDUPE_TABLE": "qscan-dedupe",
        "QSCAN_RESULTS_BUCKET": "qscan-results-server",
        "QSCAN_ALERT_TOPIC_ARN": topic,
        "QSCAN_QUALYS_SECRET_ARN": secret,
        "QSCAN_SCAN_TIMEOUT_SECONDS": "60",
        "QSCANNER_PATH": str(WRAPPER),
        PYTHON_ENV: sys.executable,
        SCENARIOS_ENV: str(scenarios),
        "SCAN_QUEUE_URL": scan_queue,
        "ALERTS_QUEUE_URL": alerts,
    }


def _load(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key, value in {
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
        "AWS_MAX_ATTEMPTS": "2",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    qscan_secrets.clear_cache()
    spec = importlib.util.spec_from_file_location(f"qscan_ecr_handler_{uuid.uuid4().hex}", HANDLER_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _receive_batch(server: MotoServer, queue_url: str, expected: int) -> list[dict[str, Any]]:
    """Messages of the queue as the records of a Lambda SQS event."""
    sqs = server.client("sqs")
    messages: list[dict[str, Any]] = []
    for _ in range(10):
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        messages.extend(got)
        if len(messages) >= expected:
            break
    return [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:qscan-ecr-scan",
            "awsRegion": REGION,
        }
        for m in messages
    ]


def test_pushes_delivered_through_eventbridge_and_sqs_are_scanned_on_the_server(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = _setup(moto_server, tmp_path / "scenarios.json")
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1,
                "digest": "sha256:" + "0" * 64,
            },
            "layers": [],
        }
    )
    tagged = moto_server.client("ecr").put_image(
        repositoryName=REPO, imageManifest=manifest, imageTag="1.4.2"
    )
    tag_digest = tagged["image"]["imageId"]["imageDigest"]
    module = _load(env, monkeypatch, tmp_path)

    events = moto_server.client("events")
    detail = {"result": "SUCCESS", "repository-name": REPO, "action-type": "PUSH", "image-tag": "2.0"}
    entries = [
        {
            "Source": "aws.ecr",
            "DetailType": "ECR Image Action",
            "Detail": json.dumps(detail | {"image-digest": PUSHED_DIGEST}),
        },
        {
            "Source": "aws.ecr",
            "DetailType": "ECR Image Action",
            "Detail": json.dumps(detail | {"action-type": "DELETE"}),
        },
    ]
    assert events.put_events(Entries=entries)["FailedEntryCount"] == 0
    # a CloudTrail PutImage call that recorded only the tag: the digest is looked up in ECR on the server
    trail = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ecr",
        "region": REGION,
        "detail": {
            "eventSource": "ecr.amazonaws.com",
            "eventName": "PutImage",
            "requestParameters": {"repositoryName": REPO, "imageTag": "1.4.2"},
        },
    }
    moto_server.client("sqs").send_message(QueueUrl=env["SCAN_QUEUE_URL"], MessageBody=json.dumps(trail))

    records = _receive_batch(moto_server, env["SCAN_QUEUE_URL"], expected=2)
    assert len(records) == 2  # the DELETE never matched the rule
    response = module.lambda_handler({"Records": records}, None)
    assert response == {"batchItemFailures": []}

    dynamodb = moto_server.client("dynamodb")
    for digest in (PUSHED_DIGEST, tag_digest):
        item = dynamodb.get_item(
            TableName="qscan-dedupe", Key={"pk": {"S": f"image#{digest}"}}, ConsistentRead=True
        )
        assert item["Item"]["state"]["S"] == "complete" and item["Item"]["status"]["S"] == "success"

    s3 = moto_server.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="qscan-results-server")["Contents"]]
    documents = [
        json.loads(s3.get_object(Bucket="qscan-results-server", Key=k)["Body"].read())
        for k in keys
        if k.endswith(".json") and not k.endswith("-ScanResult.json") and not k.endswith(".sarif.json")
    ]
    assert len(documents) == 2 and all(schema_errors(d) == [] for d in documents)
    assert {d["target"]["account"] for d in documents} == {
        ACCOUNT_ID
    }  # filled in for moto's account-less events
    assert all(k.startswith(f"results/ecr/{ACCOUNT_ID}/{REGION}/payments/api/") for k in keys)

    alerts = moto_server.client("sqs").receive_message(
        QueueUrl=env["ALERTS_QUEUE_URL"], MaxNumberOfMessages=10
    )
    bodies = [json.loads(json.loads(m["Body"])["Message"]) for m in alerts.get("Messages", [])]
    assert len(bodies) == 2 and {b["kind"] for b in bodies} == {"findings"}
    assert all(TOKEN not in json.dumps(b) for b in bodies)
