"""A push burst through the real ECR handler: 1,000 SQS records, 100 unique digests, 4 concurrent workers.

Set-up (a moto server, like the local demo): the dedupe table, results bucket, alerts topic and Qualys secret
(`tests.harness.handler_world.server_stores`) and a scan queue, fed with 1,000 native `ECR Image Action` push
events, 10 per digest for 100 digests, the duplicates interleaved in a fixed shuffled order. The fake qscanner
(`tests/doubles`, no scenario file: every scan succeeds at once, zero delay) runs behind a small bash wrapper
that appends one line per invocation (start, end, parent pid) to a log, without changing what the fake does.

Each worker is its own process, like a Lambda execution environment: it imports `handlers/aws/ecr/handler.py`
(the cold start, not timed), waits for the others, then acts as the event source mapping: receive up to
BATCH_SIZE messages, invoke `lambda_handler` with them as a Lambda SQS event, delete the records not reported in
`batchItemFailures`, until every message has been fed and the queue is empty. Its logs go to a file.

The queue is fed as it drains (kept between FEED_LOW and FEED_HIGH visible messages, all 1,000 sent within the
first seconds) rather than filled at once: moto's ReceiveMessage walks every message in the queue (measured:
~1 s per call at 1,000 messages, 60 ms at 100), so a full queue would measure the emulator, not the handler.

Figures: events/s over the drain (workers warm, first message fed, to the last invocation's end); the overhead per event, i.e. an invocation's
wall time minus the wall time of the qscanner processes it started, divided by its records (a per-batch mean:
the handler reports per batch; p50 / p99 over all invocations); and the scans, counted from the scanner
double's invocation log (`scans: N`, next to the result documents in the bucket and the completed claims). A
correct dedupe gives exactly one scan per unique digest, also when SQS delivers a message twice (moto's
ReceiveMessage takes no lock: concurrent receives occasionally return the same message, as real SQS may).
These are emulator figures: every AWS call goes to one moto server process, which with the workers, the fake
scanners and the feeder shares the machine's cores; compare runs on the same machine, not with AWS.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import multiprocessing
import os
import queue
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HANDLER = ROOT / "handlers" / "aws" / "ecr" / "handler.py"
RECORDS = 1_000
DIGESTS = 100
WORKERS = 4
BATCH_SIZE = 10  # the ecr module's maximum batch_size (its default is 1)
QUEUE = "qscan-ecr-burst"
REPOSITORY = "burst/app"
TOKEN = "qtok-burst-not-a-secret"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:qscan-ecr-scanner"
DRAIN_DEADLINE_SECONDS = 600
FEED_LOW, FEED_HIGH = 50, 100  # visible backlog the feeder keeps: always more than the workers take at once


class _Context:
    """The Lambda context attributes the handler reads."""

    invoked_function_arn = FUNCTION_ARN
    aws_request_id = "c0ffee00-0000-4000-8000-00000000b0b0"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def push_event(digest: str, account: str, region: str) -> dict[str, Any]:
    """A native ECR push event as EventBridge delivers it to the scan queue."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "ECR Image Action",
        "source": "aws.ecr",
        "account": account,
        "time": "2025-01-01T00:00:00Z",
        "region": region,
        "resources": [],
        "detail": {
            "result": "SUCCESS",
            "repository-name": REPOSITORY,
            "image-digest": digest,
            "action-type": "PUSH",
            "image-tag": "latest",
        },
    }


def burst_bodies(
    account: str, region: str, records: int = RECORDS, digests: int = DIGESTS, seed: int = 20
) -> tuple[list[str], set[str]]:
    """`records` push-event bodies over `digests` digests, each `records // digests` times, interleaved."""
    names = [f"sha256:{hashlib.sha256(f'burst-{seed}-{i}'.encode()).hexdigest()}" for i in range(digests)]
    order = [names[i % digests] for i in range(records)]
    random.Random(seed).shuffle(order)
    return [json.dumps(push_event(d, account, region)) for d in order], set(names)


def counting_scanner(directory: Path, log: Path) -> Path:
    """A bash wrapper around the fake qscanner that logs `start end ppid` per invocation (no extra process:
    bash's EPOCHREALTIME), then returns the fake's exit code."""
    from tests.doubles.fake_qscanner import WRAPPER  # noqa: PLC0415 - the bench's own double

    script = directory / "qscanner-counting"
    script.write_text(
        "#!/usr/bin/env bash\n"
        "start=$EPOCHREALTIME\n"
        f'"{WRAPPER}" "$@"\n'
        "code=$?\n"
        f'printf "%s %s %s\\n" "$start" "$EPOCHREALTIME" "$PPID" >> "{log}"\n'
        'exit "$code"\n'
    )
    script.chmod(0o755)
    return script


def _lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    attributes = {k: str(v) for k, v in message.get("Attributes", {}).items()}
    attributes.setdefault("ApproximateReceiveCount", "1")
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": {
            name: {"stringValue": a.get("StringValue"), "dataType": a.get("DataType", "String")}
            for name, a in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def worker(
    index: int, env: dict[str, str], spool: str, barrier: Any, fed: Any, results: Any
) -> None:  # pragma: no cover - runs in the worker process
    """One execution environment: cold start, then drain the queue in batches (see the module docstring)."""
    log = open(Path(spool) / f"worker-{index}.log", "wb")  # noqa: SIM115 - the process's stdout until it exits
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    os.environ.update(env)
    tmp = Path(spool) / f"tmp-{index}"  # each environment has its own /tmp
    tmp.mkdir()
    tempfile.tempdir = str(tmp)
    try:
        spec = importlib.util.spec_from_file_location(f"qscan_burst_handler_{index}", HANDLER)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # the cold start
        from tests.harness.moto_server import boto3_client  # noqa: PLC0415

        sqs = boto3_client("sqs", env["QSCAN_AWS_ENDPOINT_URL"], env["AWS_REGION"])
    except BaseException:
        barrier.abort()
        raise
    barrier.wait()
    queue_url, queue_arn, region = env["BURST_QUEUE_URL"], env["BURST_QUEUE_ARN"], env["AWS_REGION"]
    invocations: list[tuple[float, float, int, int]] = []
    deadline = time.monotonic() + DRAIN_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=int(env["BURST_BATCH_SIZE"]),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            if not fed.is_set():
                time.sleep(0.01)
                continue
            counts = sqs.get_queue_attributes(
                QueueUrl=queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            if not any(int(v) for v in counts.values()):
                break
            continue
        event = {"Records": [_lambda_record(m, queue_arn, region) for m in messages]}
        start = time.time()
        response = module.lambda_handler(event, _Context())
        end = time.time()
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        invocations.append((start, end, len(messages), len(failed)))
    results.put({"index": index, "pid": os.getpid(), "invocations": invocations})


def feed(sqs: Any, queue_url: str, bodies: list[str], fed: Any) -> None:
    """Send `bodies` in order, keeping the visible backlog between FEED_LOW and FEED_HIGH; then set `fed`."""
    sent = 0
    while sent < len(bodies):
        visible = int(
            sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"
            ]["ApproximateNumberOfMessages"]
        )
        if visible >= FEED_LOW:
            time.sleep(0.05)
            continue
        while visible < FEED_HIGH and sent < len(bodies):
            chunk = bodies[sent : sent + 10]
            entries = [{"Id": str(n), "MessageBody": b} for n, b in enumerate(chunk)]
            if sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed"):
                raise RuntimeError("the burst feeder could not send a batch")
            sent += len(chunk)
            visible += len(chunk)
    fed.set()


def _collect(processes: list[Any], results: Any, spool: Path) -> list[dict[str, Any]]:
    """Every worker's report; a worker that died without one fails the bench with its log's tail."""
    reports: list[dict[str, Any]] = []
    while len(reports) < len(processes):
        try:
            reports.append(results.get(timeout=1))
        except queue.Empty:
            reported = {r["index"] for r in reports}
            for index, process in enumerate(processes):
                if index not in reported and process.exitcode is not None:
                    tail = (spool / f"worker-{index}.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(
                        f"burst worker {index} exited with {process.exitcode}:\n{tail}"
                    ) from None
    for process in processes:
        process.join(timeout=60)
    return reports


def _scanner_log(path: Path) -> list[tuple[float, float, int]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        start, end, ppid = line.split()
        rows.append((float(start), float(end), int(ppid)))
    return rows


def _percentile(samples: list[float], pct: int) -> float:
    return (
        statistics.quantiles(samples, n=100, method="inclusive")[pct - 1] if len(samples) > 1 else samples[0]
    )


@dataclass(frozen=True)
class BurstReport:
    """What one burst measured (see the module docstring)."""

    records: int
    digests: int
    workers: int
    batch_size: int
    handled: int  # records the handler was invoked with, redeliveries included
    failed: int  # records it reported in batchItemFailures
    wall_seconds: float
    overheads_ms: list[float]  # per invocation: (wall - qscanner process time) / records
    scans: int  # scanner double invocations
    scan_seconds: float
    documents: int  # result documents in the bucket
    completed_claims: int


def burst(
    records: int = RECORDS, digests: int = DIGESTS, workers: int = WORKERS, batch_size: int = BATCH_SIZE
) -> BurstReport:
    """Run one burst on a fresh moto server (see the module docstring) and return its figures."""
    from tests.doubles.fake_qscanner import PYTHON_ENV  # noqa: PLC0415
    from tests.harness.handler_world import SERVER_BUCKET, TABLE, queue_arn, server_stores  # noqa: PLC0415
    from tests.harness.moto_server import (  # noqa: PLC0415
        ACCOUNT_ID,
        FAKE_ACCESS_KEY,
        FAKE_SECRET_KEY,
        REGION,
        running_moto_server,
    )

    with (
        tempfile.TemporaryDirectory(prefix="qscan-burst-") as tmp,
        running_moto_server(Path(tmp) / "moto") as server,
    ):
        spool = Path(tmp)
        scans_log = spool / "scans.log"
        env = server_stores(server, TOKEN)
        sqs = server.client("sqs")
        queue_url = sqs.create_queue(QueueName=QUEUE, Attributes={"VisibilityTimeout": "120"})["QueueUrl"]
        bodies, unique = burst_bodies(ACCOUNT_ID, REGION, records, digests)
        env |= {
            "QSCANNER_PATH": str(counting_scanner(spool, scans_log)),
            PYTHON_ENV: sys.executable,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
            "AWS_MAX_ATTEMPTS": "2",
            "BURST_QUEUE_URL": queue_url,
            "BURST_QUEUE_ARN": queue_arn(server, queue_url),
            "BURST_BATCH_SIZE": str(batch_size),
        }
        context = multiprocessing.get_context("spawn")  # fresh interpreters, like execution environments
        barrier, fed, results = context.Barrier(workers + 1), context.Event(), context.Queue()
        processes = [
            context.Process(target=worker, args=(i, env, str(spool), barrier, fed, results), daemon=True)
            for i in range(workers)
        ]
        for process in processes:
            process.start()
        try:
            barrier.wait(timeout=300)  # every worker has cold-started
            started = time.time()
            feed(sqs, queue_url, bodies, fed)
            reports = _collect(processes, results, spool)
        finally:
            for process in processes:
                if process.is_alive():
                    process.terminate()
                    process.join(timeout=10)
        invocations = [inv for report in reports for inv in report["invocations"]]
        scans = _scanner_log(scans_log)
        overheads = []
        for report in reports:
            mine = [(s, e) for s, e, ppid in scans if ppid == report["pid"]]
            for start, end, count, _ in report["invocations"]:
                inside = sum(e - s for s, e in mine if start <= s and e <= end)
                overheads.append((end - start - inside) / count * 1000)
        s3 = server.client("s3")
        keys = [
            o["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=SERVER_BUCKET)
            for o in page.get("Contents", [])
        ]
        items = server.client("dynamodb").scan(TableName=TABLE, ConsistentRead=True)["Items"]
        return BurstReport(
            records=len(bodies),
            digests=len(unique),
            workers=workers,
            batch_size=batch_size,
            handled=sum(count for _, _, count, _ in invocations),
            failed=sum(f for _, _, _, f in invocations),
            wall_seconds=max(end for _, end, _, _ in invocations) - started,
            overheads_ms=overheads,
            scans=len(scans),
            scan_seconds=sum(e - s for s, e, _ in scans),
            documents=sum(
                1 for k in keys if k.endswith(".json") and not k.endswith(("-ScanResult.json", ".sarif.json"))
            ),
            completed_claims=sum(1 for item in items if item.get("state", {}).get("S") == "complete"),
        )


def run() -> list[tuple[str, str]]:
    r = burst()
    return [
        (
            "records / unique digests / workers / batch size",
            f"{r.records} / {r.digests} / {r.workers} / {r.batch_size}",
        ),
        ("records handled (incl. redeliveries) / reported failed", f"{r.handled} / {r.failed}"),
        ("drain time (workers warm, first message fed -> last invocation done)", f"{r.wall_seconds:.1f} s"),
        ("throughput", f"{r.records / r.wall_seconds:,.0f} events/s"),
        (
            f"overhead per event p50 / p99 (n={len(r.overheads_ms)} invocations)",
            f"{statistics.median(r.overheads_ms):.1f} ms / {_percentile(r.overheads_ms, 99):.1f} ms",
        ),
        ("qscanner process time, all scans", f"{r.scan_seconds:.1f} s"),
        ("scanner double invocations", f"scans: {r.scans}"),
        ("result documents in the bucket / completed claims", f"{r.documents} / {r.completed_claims}"),
    ]


if __name__ == "__main__":
    for label, figure in run():
        print(f"{label}: {figure}")
