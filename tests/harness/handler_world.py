"""Shared scaffolding for the AWS scanner handler tests (ECR and Lambda), in-process moto and moto server.

A `World` loads a handler module fresh (its cold start runs at import, like Lambda's init phase), invokes it
with a Lambda context and reads back what it wrote: the dedupe store, the results bucket and the alerts that
reached an SQS queue subscribed to the alerts topic. `moto_world` builds the account every handler needs (table,
bucket, topic, alerts queue, Qualys secret) under `mock_aws`; each test file subclasses `World` for its
platform's handler and adds its own resources. The `server_*` helpers do the same against a moto server.

Retry tests use real SQS semantics (moto's): `World.use_queues` creates the scan queue with its dead-letter
queue and redrive policy (and points the handler at them, as modules/aws-lambda-worker does), `World.deliver`
sends bodies and receives them back as Lambda records (real receipt handles, receive counts and message
attributes), `World.settle` does what the event source mapping does with the response (deletes the records
not reported in `batchItemFailures`) and `SqsClock` moves moto's SQS clock forward, so visibility timeouts
and backoffs are observed without sleeping.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import stat
import sys
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, TypeVar

import boto3
import moto.sqs.models as moto_sqs
import pytest
from moto import mock_aws
from qscan import secrets as qscan_secrets
from qscan.dedupe.dynamodb import DynamoDBDedupeStore

from tests.doubles.fake_qscanner import PYTHON_ENV, SCENARIOS_ENV, WRAPPER
from tests.harness.moto_server import ACCOUNT_ID, FAKE_ACCESS_KEY, FAKE_SECRET_KEY, MotoServer

HANDLERS = Path(__file__).resolve().parents[2] / "handlers" / "aws"
REGION = "us-east-1"
TABLE = "qscan-dedupe"
BUCKET = "qscan-results-test"
SERVER_BUCKET = "qscan-results-server"


def load_handler(platform: str) -> ModuleType:
    """Import `handlers/aws/<platform>/handler.py` fresh, under a name of its own: a cold start."""
    qscan_secrets.clear_cache()
    name = f"qscan_{platform}_handler_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, HANDLERS / platform / "handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LambdaContext:
    """A `qscan.aws.context.LambdaContext` double; subclasses name the invoked function."""

    invoked_function_arn = ""
    aws_request_id = "c0ffee00-0000-4000-8000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def sqs_record(body: dict[str, Any] | str, queue_arn: str, message_id: str | None = None) -> dict[str, Any]:
    """One record of a Lambda SQS event."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "AQEB" + uuid.uuid4().hex,
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def lambda_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """SQS ReceiveMessage MessageAttributes in the shape Lambda puts into a record."""
    return {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": None,
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
        for name, value in attributes.items()
    }


def lambda_records(messages: list[dict[str, Any]], queue_arn: str) -> list[dict[str, Any]]:
    """Received SQS messages as the records of a Lambda SQS event (what the event source mapping builds)."""
    return [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": {k: str(v) for k, v in m.get("Attributes", {}).items()},
            "messageAttributes": lambda_attributes(m.get("MessageAttributes", {})),
            "md5OfBody": m.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": queue_arn.split(":")[3],
        }
        for m in messages
    ]


def receive_all(sqs: Any, queue_url: str, limit: int = 10) -> list[dict[str, Any]]:
    """Every visible message (up to `limit`), with all attributes, without waiting."""
    messages: list[dict[str, Any]] = []
    while len(messages) < limit:
        got = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, limit - len(messages)),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not got:
            break
        messages.extend(got)
    return messages


class SqsClock:
    """Moves moto's SQS clock forward (visibility timeouts, delays), so tests observe them without sleeping."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        real_seconds, real_millis = moto_sqs.unix_time, moto_sqs.unix_time_millis

        def seconds(dt: Any = None) -> float:
            return real_seconds(dt) + (0.0 if dt is not None else self.offset)

        def millis(dt: Any = None) -> float:
            return real_millis(dt) + (0.0 if dt is not None else self.offset * 1000.0)

        monkeypatch.setattr(moto_sqs, "unix_time", seconds)
        monkeypatch.setattr(moto_sqs, "unix_time_millis", millis)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass(frozen=True)
class Queues:
    """A scan queue and its dead-letter queue (redrive after `max_receive_count` receives), as the module's."""

    url: str
    arn: str
    dlq_url: str
    dlq_arn: str
    max_receive_count: int


def create_queues(
    sqs: Any, name: str, *, max_receive_count: int = 3, visibility_timeout: int = 5400
) -> Queues:
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count})
    url = sqs.create_queue(
        QueueName=name,
        Attributes={"VisibilityTimeout": str(visibility_timeout), "RedrivePolicy": redrive},
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Queues(url, arn, dlq_url, dlq_arn, max_receive_count)


def drain(queue_url: str) -> list[str]:
    """Receive and delete every message of the queue; returns their bodies."""
    sqs = boto3.client("sqs")
    bodies: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return bodies
        for message in got:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def accounting_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [r.__dict__["accounting"] for r in caplog.records if r.getMessage().startswith("batch accounting")]


def emf_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{") and '"_aws"' in line]


def emf_series(lines: list[dict[str, Any]], account: str | None = None) -> dict[str, float]:
    """What CloudWatch makes of EMF lines: the sums of the `service` series (every line carries it), or of one
    account's `service` + `account` series (its line only)."""
    totals: dict[str, float] = {}
    for line in lines:
        if account is not None and line.get("account") != account:
            continue
        for metric in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            totals[metric["Name"]] = totals.get(metric["Name"], 0) + line[metric["Name"]]
    return totals


@dataclass
class World:
    """A moto account with one handler in it; subclasses set `platform` and `context`."""

    platform: ClassVar[str]
    context: ClassVar[type[LambdaContext]]

    tmp: Path
    monkeypatch: pytest.MonkeyPatch
    alerts_queue_url: str = ""
    scenarios: dict[str, Any] = field(default_factory=dict)
    module: ModuleType | None = None
    queues: Queues | None = None

    @property
    def scenario_file(self) -> Path:
        return self.tmp / "scenarios.json"

    def scenario(self, target: str, **spec: Any) -> None:
        self.scenarios[target] = spec
        self.scenario_file.write_text(json.dumps({"targets": self.scenarios, "default": {}}))

    def load(self, **env: str) -> ModuleType:
        """Cold start: import the handler module fresh with these extra settings."""
        for key, value in env.items():
            self.monkeypatch.setenv(key, value)
        self.module = load_handler(self.platform)
        return self.module

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        assert self.module is not None
        response: dict[str, Any] = self.module.lambda_handler(event, self.context())
        return response

    @property
    def handler(self) -> Any:
        assert self.module is not None
        return self.module.HANDLER

    @property
    def started(self) -> int:
        return int(self.handler.scanner.started)

    def store(self) -> DynamoDBDedupeStore:
        return DynamoDBDedupeStore(TABLE, client=boto3.client("dynamodb"))

    def alerts(self) -> list[dict[str, Any]]:
        return [json.loads(json.loads(body)["Message"]) for body in drain(self.alerts_queue_url)]

    def objects(self) -> dict[str, bytes]:
        s3 = boto3.client("s3")
        listing = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
        return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listing}

    # ------------------------------------------------------------------ real queues (retry tests)
    def use_queues(self, name: str, *, max_receive_count: int = 3, visibility_timeout: int = 5400) -> Queues:
        """Create the scan queue + DLQ and point the handler's settings at them (call before `load`)."""
        self.queues = create_queues(
            boto3.client("sqs"),
            name,
            max_receive_count=max_receive_count,
            visibility_timeout=visibility_timeout,
        )
        self.monkeypatch.setenv("QSCAN_DEAD_LETTER_QUEUE_ARN", self.queues.dlq_arn)
        self.monkeypatch.setenv("QSCAN_MAX_RECEIVE_COUNT", str(max_receive_count))
        return self.queues

    def deliver(self, *bodies: dict[str, Any] | str) -> dict[str, Any]:
        """Send `bodies` to the scan queue and receive them back as one Lambda SQS event."""
        assert self.queues is not None
        sqs = boto3.client("sqs")
        for body in bodies:
            sqs.send_message(
                QueueUrl=self.queues.url, MessageBody=body if isinstance(body, str) else json.dumps(body)
            )
        return self.receive(len(bodies))

    def receive(self, limit: int = 10) -> dict[str, Any]:
        """The visible messages of the scan queue as one Lambda SQS event (what the event source mapping polls)."""
        assert self.queues is not None
        return batch(
            *lambda_records(receive_all(boto3.client("sqs"), self.queues.url, limit), self.queues.arn)
        )

    def settle(self, event: dict[str, Any], response: dict[str, Any]) -> None:
        """What the event source mapping does after the invocation: delete the records not reported failed."""
        assert self.queues is not None
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        sqs = boto3.client("sqs")
        for rec in event["Records"]:
            if rec["messageId"] not in failed:
                sqs.delete_message(QueueUrl=self.queues.url, ReceiptHandle=rec["receiptHandle"])

    def dead_letters(self) -> list[dict[str, Any]]:
        """The messages in the dead-letter queue (received, not deleted)."""
        assert self.queues is not None
        return receive_all(boto3.client("sqs"), self.queues.dlq_url)


W = TypeVar("W", bound=World)


@contextmanager
def moto_world(
    cls: type[W], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str, settings: dict[str, str]
) -> Iterator[W]:
    """Under `mock_aws`: the table, bucket, topic (alerts queue subscribed) and Qualys secret every handler
    needs, and the settings pointing the handler (and the fake qscanner) at them plus `settings`."""
    for key in list(os.environ):
        if key.startswith(("QSCAN_", "QUALYS_", "AWS_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with mock_aws():
        world = cls(tmp_path, monkeypatch)
        world.scenario_file.write_text(json.dumps({"targets": {}, "default": {}}))
        DynamoDBDedupeStore(TABLE, client=boto3.client("dynamodb")).create_table()
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        topic = boto3.client("sns").create_topic(Name="qscan-alerts")["TopicArn"]
        sqs = boto3.client("sqs")
        world.alerts_queue_url = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
        alerts_arn = sqs.get_queue_attributes(QueueUrl=world.alerts_queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        boto3.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=alerts_arn)
        secret_arn = boto3.client("secretsmanager").create_secret(
            Name="qscan/qualys", SecretString=json.dumps({"pod": "US2", "access_token": token})
        )["ARN"]
        for key, value in {
            "QSCAN_DEDUPE_TABLE": TABLE,
            "QSCAN_RESULTS_BUCKET": BUCKET,
            "QSCAN_ALERT_TOPIC_ARN": topic,
            "QSCAN_QUALYS_SECRET_ARN": secret_arn,
            "QSCANNER_PATH": str(WRAPPER),
            "QSCAN_SCAN_TIMEOUT_SECONDS": "60",
            PYTHON_ENV: sys.executable,
            SCENARIOS_ENV: str(world.scenario_file),
            **settings,
        }.items():
            monkeypatch.setenv(key, value)
        yield world


def env_recording_scanner(world: World) -> Path:
    """A qscanner wrapper that records the AWS credentials it was started with, then runs the fake."""
    return recording_scanner(world.tmp, world.monkeypatch)


def recording_scanner(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`env_recording_scanner` outside a `World`: the wrapper in `tmp`, QSCANNER_PATH set to it; returns the file
    the credentials of the last run are written to."""
    record_file = tmp / "child-env.json"
    script = tmp / "qscanner-recording"
    script.write_text(
        "#!/bin/sh\n"
        f'"{sys.executable}" -c \'import json, os, sys; json.dump({{k: os.environ.get(k) for k in '
        '("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}, open(sys.argv[1], "w"))\' '
        f'"{record_file}"\n'
        f'exec "{WRAPPER}" "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("QSCANNER_PATH", str(script))
    return record_file


def zipped(text: str) -> bytes:
    """A function package: `app.py` holding `text`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", text)
    return buffer.getvalue()


def image_manifest(config_digest: str, size: int) -> str:
    """A Docker image manifest (no layers) to put into ECR."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": size,
                "digest": config_digest,
            },
            "layers": [],
        }
    )


# ---------------------------------------------------------------------------------------------- moto server


def queue_arn(server: MotoServer, queue_url: str) -> str:
    arn: str = server.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    return arn


def server_stores(server: MotoServer, token: str) -> dict[str, str]:
    """Reset the server and create the table, bucket, topic and Qualys secret; returns the handler settings."""
    server.reset()
    server.client("dynamodb").create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    server.client("s3").create_bucket(Bucket=SERVER_BUCKET)
    topic = server.client("sns").create_topic(Name="qscan-alerts")["TopicArn"]
    secret = server.client("secretsmanager").create_secret(
        Name="qscan/qualys", SecretString=json.dumps({"pod": "US1", "access_token": token})
    )["ARN"]
    return {
        "QSCAN_AWS_ENDPOINT_URL": server.endpoint,
        "QSCAN_DEDUPE_TABLE": TABLE,
        "QSCAN_RESULTS_BUCKET": SERVER_BUCKET,
        "QSCAN_ALERT_TOPIC_ARN": topic,
        "QSCAN_QUALYS_SECRET_ARN": secret,
        "QSCAN_SCAN_TIMEOUT_SECONDS": "60",
        "QSCANNER_PATH": str(WRAPPER),
        PYTHON_ENV: sys.executable,
    }


def server_rule_to_queue(server: MotoServer, rule: str, pattern: dict[str, Any], queue_url: str) -> None:
    """An EventBridge rule delivering the matching events into the queue."""
    events = server.client("events")
    events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, Targets=[{"Id": "scan-queue", "Arn": queue_arn(server, queue_url)}])


def load_server_handler(
    platform: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> ModuleType:
    """Cold start of the handler pointed at the moto server with `env`."""
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
    return load_handler(platform)


def receive_batch(server: MotoServer, queue_url: str, queue_name: str, expected: int) -> list[dict[str, Any]]:
    """Messages of the queue as the records of a Lambda SQS event."""
    sqs = server.client("sqs")
    messages: list[dict[str, Any]] = []
    for _ in range(10):
        got = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        messages.extend(got)
        if len(messages) >= expected:
            break
    return lambda_records(messages, f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue_name}")


def server_result_keys(server: MotoServer) -> list[str]:
    return [o["Key"] for o in server.client("s3").list_objects_v2(Bucket=SERVER_BUCKET)["Contents"]]


def server_result_documents(server: MotoServer, keys: list[str]) -> list[dict[str, Any]]:
    """The result documents among `keys` (not the raw qscanner outputs)."""
    s3 = server.client("s3")
    return [
        json.loads(s3.get_object(Bucket=SERVER_BUCKET, Key=k)["Body"].read())
        for k in keys
        if k.endswith(".json") and not k.endswith("-ScanResult.json") and not k.endswith(".sarif.json")
    ]
