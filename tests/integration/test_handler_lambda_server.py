"""The Lambda-scanner handler against a moto SERVER, fed by real SQS messages.

This is the local demo's path: every client the handler makes must honour QSCAN_AWS_ENDPOINT_URL, including
the ones of the bulk scan (ListFunctions, SendMessageBatch into the queue URL derived from the record's
eventSourceARN and the endpoint). CloudTrail events reach the scan queue through an EventBridge rule (moto
drops their `account`, which the handler fills with its own), the bulk-scan request is sent to the queue the
way the module's schedule puts it there, and the handler gets the messages as Lambda SQS batches; the test
deletes what the handler reported as processed.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from qscan.results.schema import schema_errors

from tests.doubles.fake_qscanner import SCENARIOS_ENV
from tests.harness.handler_world import (
    SERVER_BUCKET,
    TABLE,
    load_server_handler,
    receive_batch,
    server_result_documents,
    server_result_keys,
    server_rule_to_queue,
    server_stores,
    zipped,
)
from tests.harness.moto_server import ACCOUNT_ID, REGION, MotoServer

pytestmark = pytest.mark.integration

TOKEN = "qtok-lambda-server-3Vb7Nc1Qz"
QUEUE = "qscan-lambda-scan"
BULK_REQUEST = {
    "version": "0",
    "source": "qscan.bulk-scan",
    "detail-type": "qscan Bulk Scan Request",
    "account": ACCOUNT_ID,
    "region": REGION,
    "detail": {"platform": "lambda"},
}


def _setup(server: MotoServer, scenarios: Path) -> dict[str, str]:
    env = server_stores(server, TOKEN)
    scan_queue = server.client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"]
    pattern = {
        "source": ["aws.lambda"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventSource": ["lambda.amazonaws.com"]},
    }
    server_rule_to_queue(server, "lambda-deploy", pattern, scan_queue)
    scenarios.write_text(json.dumps({"default": {"findings": [{"qid": "9101", "severity": 4}]}}))
    return env | {"QSCAN_TAG_FUNCTIONS": "true", SCENARIOS_ENV: str(scenarios), "SCAN_QUEUE_URL": scan_queue}


def _processed(server: MotoServer, queue_url: str, records: list[dict[str, Any]], response: Any) -> None:
    """Delete what the handler did not report as failed (what the Lambda poller does)."""
    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    for rec in records:
        if rec["messageId"] not in failed:
            server.client("sqs").delete_message(QueueUrl=queue_url, ReceiptHandle=rec["receiptHandle"])


def test_deployments_and_a_bulk_scan_are_scanned_and_tagged_on_the_server(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = _setup(moto_server, tmp_path / "scenarios.json")
    queue_url = env["SCAN_QUEUE_URL"]
    lam = moto_server.client("lambda")
    role = moto_server.client("iam").create_role(RoleName="app", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    functions = {}
    for name in ("orders", "invoices", "qscan-lambda-scanner"):
        functions[name] = lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": zipped(name)},
        )
    monkeypatch.delenv("QSCAN_SCAN_QUEUE_URL", raising=False)
    module = load_server_handler("lambda", env, monkeypatch, tmp_path)

    # 1. a CreateFunction call through EventBridge (moto delivers it without `account`)
    orders = functions["orders"]
    detail = {
        "eventSource": "lambda.amazonaws.com",
        "eventName": "CreateFunction20150331",
        "awsRegion": REGION,
        "requestParameters": {"functionName": "orders"},
        "responseElements": {
            "functionName": "orders",
            "functionArn": orders["FunctionArn"],
            "codeSha256": orders["CodeSha256"],
            "packageType": "Zip",
        },
        "eventID": str(uuid.uuid4()),
    }
    entry = {
        "Source": "aws.lambda",
        "DetailType": "AWS API Call via CloudTrail",
        "Detail": json.dumps(detail),
    }
    assert moto_server.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0
    records = receive_batch(moto_server, queue_url, QUEUE, expected=1)
    assert len(records) == 1
    response = module.lambda_handler({"Records": records}, None)
    assert response == {"batchItemFailures": []}
    _processed(moto_server, queue_url, records, response)

    # 2. the scheduled bulk-scan request: the handler lists the functions and enqueues scan requests into the
    #    queue URL it derives from the record and the endpoint
    moto_server.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(BULK_REQUEST))
    records = receive_batch(moto_server, queue_url, QUEUE, expected=1)
    response = module.lambda_handler({"Records": records}, None)
    assert response == {"batchItemFailures": []}
    _processed(moto_server, queue_url, records, response)

    requests = receive_batch(moto_server, queue_url, QUEUE, expected=2)
    arns = sorted(json.loads(r["body"])["detail"]["target"]["function_arn"] for r in requests)
    assert arns == sorted([functions["orders"]["FunctionArn"], functions["invoices"]["FunctionArn"]])
    response = module.lambda_handler({"Records": requests}, None)
    assert response == {"batchItemFailures": []}
    _processed(moto_server, queue_url, requests, response)
    assert int(module.HANDLER.scanner.started) == 2  # orders once (the bulk request is a cache hit), invoices

    dynamodb = moto_server.client("dynamodb")
    for name in ("orders", "invoices"):
        function = functions[name]
        key = f"lambda#{function['FunctionArn']}#{function['CodeSha256']}#"
        item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": key}}, ConsistentRead=True)
        assert item["Item"]["state"]["S"] == "complete" and item["Item"]["status"]["S"] == "success"
        tags = lam.list_tags(Resource=function["FunctionArn"])["Tags"]
        assert tags["QualysScanStatus"] == "success" and tags["QualysHigh"] == "1"
    assert lam.list_tags(Resource=functions["qscan-lambda-scanner"]["FunctionArn"])["Tags"] == {}

    s3 = moto_server.client("s3")
    keys = server_result_keys(moto_server)
    assert keys and all(k.startswith(f"results/lambda/{ACCOUNT_ID}/{REGION}/") for k in keys)
    documents = server_result_documents(moto_server, keys)
    assert len(documents) == 2 and all(schema_errors(d) == [] for d in documents)
    assert all(TOKEN.encode() not in s3.get_object(Bucket=SERVER_BUCKET, Key=k)["Body"].read() for k in keys)
