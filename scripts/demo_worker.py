"""Lambda's SQS event source mapping, emulated for `make demo` (moto cannot run Lambda functions without Docker).

    python scripts/demo_worker.py --handler handlers/aws/ecr/handler.py --queue-url URL --endpoint URL \
        --region us-east-1 --function-arn ARN --report FILE [--batch-size 1] [--visibility-timeout 2]

The demo runs one worker per scan queue (the ECR one with handlers/aws/ecr/handler.py, the Lambda one with
handlers/aws/lambda/handler.py), each with its own function's environment, as Lambda runs each function in a
sandbox of its own.

The parent (`scripts/demo.py`) sets the environment the function configuration defines (plus
QSCAN_AWS_ENDPOINT_URL and the simulated scanner) and redirects this process's output (the handler's JSON logs
and EMF lines) into a log file. This process imports the handler once (Lambda's init phase, the cold start),
then does what the event source mapping does: receive a batch, invoke `lambda_handler` with an SQS event in
Lambda's shape and a context with the function's remaining time, delete the records that did not fail, and
leave the failed ones (`batchItemFailures`, or all of them when the function raises) for redelivery after the
visibility timeout; after `maxReceiveCount` receives SQS moves a message to the dead-letter queue. The only
local liberty: the visibility timeout of each receive is short, so redeliveries (and the redrive) happen in
seconds instead of 6x the function timeout.

Each invocation is written as one JSON line to `--report`: the records (message id, receive count, a short
summary of the event, its account among it), the failed ids, and what the handler logged about them (its
`batch accounting` line, the `scanned` / `dedupe` lines of the pipeline and the `assumed <role>` line of a
cross-account read, captured in-process). It exits when the queue has been empty
(nothing visible, nothing in flight) for two polls, at `--max-seconds`, or on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import signal
import sys
import threading
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
from botocore.config import Config

LOG = logging.getLogger("qscan.demo.worker")
CAPTURED_FIELDS = ("accounting", "dedupe_key", "outcome", "status", "counts", "role_arn")


class Capture(logging.Handler):
    """Keeps the structured fields of the handler's log records for the current invocation."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        fields = {name: getattr(record, name) for name in CAPTURED_FIELDS if hasattr(record, name)}
        if fields:
            fields["message"] = record.getMessage()[:300]
            self.records.append(json.loads(json.dumps(fields, default=str)))

    def take(self) -> list[dict[str, Any]]:
        taken, self.records = self.records, []
        return taken


class Context:
    """The parts of the Lambda context a handler uses."""

    def __init__(self, function_name: str, function_arn: str, timeout_seconds: int) -> None:
        self.function_name = function_name
        self.invoked_function_arn = function_arn
        self.aws_request_id = str(uuid.uuid4())
        self.memory_limit_in_mb = 128
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler(path: Path) -> ModuleType:
    """Import the handler file as Lambda does (its folder is the package root): this runs the cold start."""
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("handler", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"demo_worker: cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["handler"] = module
    spec.loader.exec_module(module)
    return module


def event_summary(body: str) -> dict[str, Any]:
    """What the progress lines show about one message body (an EventBridge event)."""
    try:
        event = json.loads(body)
    except ValueError:
        return {"unparsable": True}
    if not isinstance(event, dict):
        return {"unparsable": True}
    raw_detail = event.get("detail")
    detail: dict[str, Any] = raw_detail if isinstance(raw_detail, dict) else {}
    image = (((detail.get("responseElements") or {}).get("image") or {}).get("imageId")) or {}
    request = detail.get("requestParameters") or {}
    if event.get("source") == "aws.lambda":
        elements = detail.get("responseElements")
        response: dict[str, Any] = elements if isinstance(elements, dict) else {}
        name = str(request.get("functionName") or response.get("functionName") or "")
        if ":function:" in name:  # an ARN (maybe qualified) -> the function name
            name = name.split(":function:", 1)[1].split(":", 1)[0]
        return {
            "id": event.get("id"),
            "account": event.get("account"),
            "detail_type": event.get("detail-type"),
            "function": name or None,
            "event_name": detail.get("eventName"),
            "code_sha256": response.get("codeSha256"),
        }
    return {
        "id": event.get("id"),
        "account": event.get("account"),
        "detail_type": event.get("detail-type"),
        "repository": detail.get("repository-name") or request.get("repositoryName"),
        "tag": detail.get("image-tag") or image.get("imageTag"),
        "digest": detail.get("image-digest") or image.get("imageDigest"),
    }


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of the event Lambda builds from an SQS message."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            key: str(attributes[key])
            for key in (
                "ApproximateReceiveCount",
                "SentTimestamp",
                "SenderId",
                "ApproximateFirstReceiveTimestamp",
            )
            if key in attributes
        },
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class Mapping:
    """The receive -> invoke -> delete loop."""

    def __init__(self, args: argparse.Namespace, handler: ModuleType, capture: Capture) -> None:
        self.args = args
        self.handler = handler
        self.capture = capture
        self.stop = threading.Event()
        self.sqs = boto3.session.Session().client(
            "sqs",
            endpoint_url=args.endpoint,
            region_name=args.region,
            config=Config(retries={"max_attempts": 2, "mode": "standard"}),
        )
        self.queue_arn = self.sqs.get_queue_attributes(QueueUrl=args.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.invocations = 0

    def queue_is_empty(self) -> bool:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.args.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(attrs["ApproximateNumberOfMessages"]) == 0
            and int(attrs["ApproximateNumberOfMessagesNotVisible"]) == 0
        )

    def run(self, report: Any) -> int:
        deadline = time.monotonic() + self.args.max_seconds
        empty_polls = 0
        while not self.stop.is_set() and time.monotonic() < deadline:
            messages = self.sqs.receive_message(
                QueueUrl=self.args.queue_url,
                MaxNumberOfMessages=self.args.batch_size,
                WaitTimeSeconds=1,
                VisibilityTimeout=self.args.visibility_timeout,
                AttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                empty_polls = empty_polls + 1 if self.queue_is_empty() else 0
                if empty_polls >= 2:
                    return 0
                continue
            empty_polls = 0
            self.invoke(messages, report)
        return 0 if self.stop.is_set() else 3

    def invoke(self, messages: list[dict[str, Any]], report: Any) -> None:
        self.invocations += 1
        event = {"Records": [sqs_record(m, self.queue_arn, self.args.region) for m in messages]}
        ids = [m["MessageId"] for m in messages]
        context = Context(self.args.function_name, self.args.function_arn, self.args.timeout_seconds)
        started = time.monotonic()
        self.capture.take()
        error = None
        try:
            response = self.handler.lambda_handler(event, context)
            failed = sorted({item["itemIdentifier"] for item in response.get("batchItemFailures", [])})
        except Exception as exc:
            LOG.exception("the function raised: the whole batch is retried")
            error, failed = f"{type(exc).__name__}: {exc}"[:300], ids
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.args.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        line = {
            "invocation": self.invocations,
            "duration_ms": int((time.monotonic() - started) * 1000),
            "records": [
                {
                    "message_id": m["MessageId"],
                    "receive_count": int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
                    "event": event_summary(m["Body"]),
                }
                for m in messages
            ],
            "failed": failed,
            "function_error": error,
            "logged": self.capture.take(),
        }
        report.write(json.dumps(line, sort_keys=True) + "\n")
        report.flush()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handler", type=Path, required=True, help="the handler file (handler.py)")
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--endpoint", required=True, help="the moto server")
    parser.add_argument("--region", required=True)
    parser.add_argument("--function-name", required=True)
    parser.add_argument("--function-arn", required=True)
    parser.add_argument("--timeout-seconds", type=int, default=60, help="the function timeout")
    parser.add_argument("--batch-size", type=int, default=1, help="the event source mapping's batch size")
    parser.add_argument(
        "--visibility-timeout", type=int, default=2, help="seconds before a failed record returns"
    )
    parser.add_argument("--max-seconds", type=float, default=120.0, help="stop after this long in any case")
    parser.add_argument("--report", type=Path, required=True, help="JSON lines, one per invocation")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not 1 <= args.batch_size <= 10 or not 0 <= args.visibility_timeout <= 60:
        print("demo_worker: batch size must be 1-10 and the visibility timeout 0-60 s", file=sys.stderr)
        return 2
    if not args.endpoint.startswith("http://127.0.0.1:"):
        print(
            "demo_worker: the endpoint must be a local moto server (http://127.0.0.1:<port>)", file=sys.stderr
        )
        return 2
    capture = Capture()
    logging.getLogger().addHandler(logging.StreamHandler(sys.stderr))  # the handler formats it as JSON
    logging.getLogger().addHandler(capture)
    handler = load_handler(args.handler.resolve())
    mapping = Mapping(args, handler, capture)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: mapping.stop.set())
    with args.report.open("a", encoding="utf-8") as report:
        return mapping.run(report)


if __name__ == "__main__":
    raise SystemExit(main())
