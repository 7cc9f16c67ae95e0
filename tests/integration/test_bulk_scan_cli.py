"""`qscan bulk-scan` as a process against the shimmed moto server (QSCAN_AWS_ENDPOINT_URL), as in the demo."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
import zipfile
from typing import Any

import pytest
from qscan.events import normalize_sqs_record

from tests.harness import moto_server as ms

pytestmark = pytest.mark.integration


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


def _run(endpoint: str, *args: str, queue_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "QSCAN_"))}
    env |= {
        "AWS_ACCESS_KEY_ID": ms.FAKE_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": ms.FAKE_SECRET_KEY,
        "AWS_DEFAULT_REGION": ms.REGION,
        "QSCAN_AWS_ENDPOINT_URL": endpoint,
    }
    if queue_url:
        env["QSCAN_SCAN_QUEUE_URL"] = queue_url
    code = "import sys; from qscan.cli import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, "bulk-scan", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(got)
    return messages


def test_bulk_scan_cli_against_the_moto_server(moto_server: ms.MotoServer) -> None:
    prefix = f"bulk{uuid.uuid4().hex[:8]}"
    iam, lam, sqs = (moto_server.client(s) for s in ("iam", "lambda", "sqs"))
    role = iam.create_role(
        RoleName=f"{prefix}-role", AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}'
    )["Role"]["Arn"]
    names = [f"{prefix}-svc-{i}" for i in range(4)] + [f"{prefix}-skip"]
    for name in names:
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": _zip()},
        )
    url = sqs.create_queue(QueueName=f"{prefix}-scan")["QueueUrl"]
    try:
        dry = _run(moto_server.endpoint, "--dry-run", "--include", f"{prefix}-*", "--exclude", "*-skip")
        assert dry.returncode == 0, dry.stderr
        assert len(dry.stdout.splitlines()) == 5  # 4 targets + the summary
        assert _drain(sqs, url) == []

        real = _run(
            moto_server.endpoint,
            "--include",
            f"{prefix}-*",
            "--exclude",
            "*-skip",
            "--progress-every",
            "1",
            queue_url=url,
        )
        assert real.returncode == 0, real.stderr
        summary = json.loads(real.stdout.splitlines()[-1])["summary"]
        assert (summary["matched"], summary["enqueued"], summary["failed"]) == (4, 4, 0)
        assert summary["skipped"]["excluded"] == 1
        assert "bulk-scan: us-east-1:" in real.stderr

        targets = []
        for message in _drain(sqs, url):
            record = {"messageId": message["MessageId"], "body": message["Body"], "eventSource": "aws:sqs"}
            targets.extend(normalize_sqs_record(record))
        assert sorted(t.function_arn.rsplit(":", 1)[1] for t in targets if t.function_arn) == names[:4]
        assert all(t.dedupe_key and t.dedupe_key.startswith("lambda#") for t in targets)
    finally:
        for name in names:
            lam.delete_function(FunctionName=name)
        sqs.delete_queue(QueueUrl=url)
        iam.delete_role(RoleName=f"{prefix}-role")
