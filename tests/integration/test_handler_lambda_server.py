"""The Lambda-scanner handler against a moto SERVER, fed by real SQS messages.

This is the local demo's path: every client the handler makes must honour QSCAN_AWS_ENDPOINT_URL, including
the ones of the bulk scan (ListFunctions, SendMessageBatch into the queue URL derived from the record's
eventSourceARN and the endpoint). CloudTrail events reach the scan queue through an EventBridge rule (moto
drops their `account`, which the handler fills with its own), the bulk-scan request is sent to the queue the
way the module's schedule puts it there, and the handler gets the messages as Lambda SQS batches; the test
deletes what the handler reported as processed.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import uuid
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from qscan import secrets as qscan_secrets
from qscan.results.schema import schema_errors

from tests.doubles.fake_qscanner import PYTHON_ENV, SCENARIOS_ENV, WRAPPER
from tests.harness.moto_server import ACCOUNT_ID, FAKE_ACCESS_KEY, FAKE_SECRET_KEY, REGION, MotoServer

pytestmark = pytest.mark.integration

HANDLER_PATH = Path(__file__).resolve().parents[2] / "handlers" / "aws" / "lambda" / "handler.py"
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


def _zip(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", text)
    return buffer.getvalue()


def _setup(server: MotoServer, scenarios: Path) -> dict[str, str]:
    server.reset()
    server.client("dynamodb").create_table(
        TableName="qscan-dedupe",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    server.client("s3").create_bucket(Bucket="qscan-results-server")
    sns, sqs = server.client("sns"), server.client("sqs")
    topic = sns.create_topic(Name="qscan-alerts")["TopicArn"]
    scan_queue = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    scan_arn = sqs.get_queue_attributes(QueueUrl=scan_queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = server.client("events")
    events.put_rule(
        Name="lambda-deploy",
        EventPattern=json.dumps(
            {
                "source": ["aws.lambda"],
                "detail-type": ["AWS API Call via CloudTrail"],
                "detail": {"eventSource": ["lambda.amazonaws.com"]},
            }
        ),
    )
    events.put_targets(Rule="lambda-deploy", Targets=[{"Id": "scan-queue", "Arn": scan_arn}])
    secret = server.client("secretsmanager").create_secret(
        Name="qscan/qualys", SecretString=json.dumps({"pod": "US1", "access_token": TOKEN})
    )["ARN"]
    scenarios.write_text(json.dumps({"default": {"findings": [{"qid": "9101", "severity": 4}]}}))
    return {
        "QSCAN_AWS_ENDPOINT_URL": server.endpoint,
        "QSCAN_DEDUPE_TABLE": "qscan-dedupe",
        "QSCAN_RESULTS_BUCKET": "qscan-results-server",
        "QSCAN_ALERT_TOPIC_ARN": topic,
        "QSCAN_QUALYS_SECRET_ARN": secret,
        "QSCAN_SCAN_TIMEOUT_SECONDS": "60",
        "QSCAN_TAG_FUNCTIONS": "true",
        "QSCANNER_PATH": str(WRAPPER),
        PYTHON_ENV: sys.executable,
        SCENARIOS_ENV: str(scenarios),
        "SCAN_QUEUE_URL": scan_queue,
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
    monkeypatch.delenv("QSCAN_SCAN_QUEUE_URL", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    qscan_secrets.clear_cache()
    spec = importlib.util.spec_from_file_location(f"qscan_lambda_handler_{uuid.uuid4().hex}", HANDLER_PATH)
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
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{QUEUE}",
            "awsRegion": REGION,
        }
        for m in messages
    ]


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
            Code={"ZipFile": _zip(name)},
        )
    module = _load(env, monkeypatch, tmp_path)

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
    records = _receive_batch(moto_server, queue_url, expected=1)
    assert len(records) == 1
    response = module.lambda_handler({"Records": records}, None)
    assert response == {"batchItemFailures": []}
    _processed(moto_server, queue_url, records, response)

    # 2. the scheduled bulk-scan request: the handler lists the functions and enqueues scan requests into the
    #    queue URL it derives from the record and the endpoint
    moto_server.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(BULK_REQUEST))
    records = _receive_batch(moto_server, queue_url, expected=1)
    response = module.lambda_handler({"Records": records}, None)
    assert response == {"batchItemFailures": []}
    _processed(moto_server, queue_url, records, response)

    requests = _receive_batch(moto_server, queue_url, expected=2)
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
        item = dynamodb.get_item(TableName="qscan-dedupe", Key={"pk": {"S": key}}, ConsistentRead=True)
        assert item["Item"]["state"]["S"] == "complete" and item["Item"]["status"]["S"] == "success"
        tags = lam.list_tags(Resource=function["FunctionArn"])["Tags"]
        assert tags["QualysScanStatus"] == "success" and tags["QualysHigh"] == "1"
    assert lam.list_tags(Resource=functions["qscan-lambda-scanner"]["FunctionArn"])["Tags"] == {}

    s3 = moto_server.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="qscan-results-server")["Contents"]]
    assert keys and all(k.startswith(f"results/lambda/{ACCOUNT_ID}/{REGION}/") for k in keys)
    documents = [
        json.loads(s3.get_object(Bucket="qscan-results-server", Key=k)["Body"].read())
        for k in keys
        if k.endswith(".json") and not k.endswith("-ScanResult.json") and not k.endswith(".sarif.json")
    ]
    assert len(documents) == 2 and all(schema_errors(d) == [] for d in documents)
    assert all(
        TOKEN.encode() not in s3.get_object(Bucket="qscan-results-server", Key=k)["Body"].read() for k in keys
    )
