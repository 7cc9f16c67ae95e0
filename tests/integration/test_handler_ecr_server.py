"""The ECR handler against a moto SERVER, fed by real SQS messages that an EventBridge rule delivered.

This is the local demo's path: every AWS client the handler makes must honour QSCAN_AWS_ENDPOINT_URL (a client
that ignored it would try the real AWS endpoints with fake keys and fail the record). The events reach the scan
queue through EventBridge (moto drops their `account`, which the handler fills with its own), the handler gets
the messages as a Lambda SQS batch and the test deletes what the handler reported as processed.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from qscan.results.schema import schema_errors

from tests.doubles.fake_qscanner import SCENARIOS_ENV
from tests.harness.handler_world import (
    TABLE,
    image_manifest,
    load_server_handler,
    receive_batch,
    server_result_documents,
    server_result_keys,
    server_rule_to_queue,
    server_stores,
)
from tests.harness.moto_server import ACCOUNT_ID, REGION, MotoServer

pytestmark = pytest.mark.integration

TOKEN = "qtok-server-9Fh3Kd8Lm2Pq"
REPO = "payments/api"
PUSHED_DIGEST = "sha256:" + "5a" * 32
QUEUE = "qscan-ecr-scan"


def _setup(server: MotoServer, scenarios: Path) -> dict[str, str]:
    env = server_stores(server, TOKEN)
    sns, sqs = server.client("sns"), server.client("sqs")
    alerts = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    alerts_arn = sqs.get_queue_attributes(QueueUrl=alerts, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=env["QSCAN_ALERT_TOPIC_ARN"], Protocol="sqs", Endpoint=alerts_arn)
    scan_queue = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    pattern = {
        "source": ["aws.ecr"],
        "detail-type": ["ECR Image Action"],
        "detail": {"action-type": ["PUSH"]},
    }
    server_rule_to_queue(server, "ecr-push", pattern, scan_queue)
    server.client("ecr").create_repository(repositoryName=REPO)
    scenarios.write_text(json.dumps({"default": {"findings": [{"qid": "9001", "severity": 5}]}}))
    return env | {SCENARIOS_ENV: str(scenarios), "SCAN_QUEUE_URL": scan_queue, "ALERTS_QUEUE_URL": alerts}


def test_pushes_delivered_through_eventbridge_and_sqs_are_scanned_on_the_server(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = _setup(moto_server, tmp_path / "scenarios.json")
    manifest = image_manifest("sha256:" + "0" * 64, 1)
    tagged = moto_server.client("ecr").put_image(
        repositoryName=REPO, imageManifest=manifest, imageTag="1.4.2"
    )
    tag_digest = tagged["image"]["imageId"]["imageDigest"]
    module = load_server_handler("ecr", env, monkeypatch, tmp_path)

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

    records = receive_batch(moto_server, env["SCAN_QUEUE_URL"], QUEUE, expected=2)
    assert len(records) == 2  # the DELETE never matched the rule
    response = module.lambda_handler({"Records": records}, None)
    assert response == {"batchItemFailures": []}

    dynamodb = moto_server.client("dynamodb")
    for digest in (PUSHED_DIGEST, tag_digest):
        item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"image#{digest}"}}, ConsistentRead=True)
        assert item["Item"]["state"]["S"] == "complete" and item["Item"]["status"]["S"] == "success"

    keys = server_result_keys(moto_server)
    documents = server_result_documents(moto_server, keys)
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
