"""Event normalizer throughput: events per second for each source, over the realistic fixtures."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qscan.events import (
    normalize,
    normalize_activity_log,
    normalize_ecr_cloudtrail,
    normalize_ecr_push,
    normalize_ecs_cloudtrail,
    normalize_eventgrid,
    normalize_lambda_cloudtrail,
    normalize_reconciler,
    normalize_sqs_record,
)
from qscan.refs import parse_image_ref

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"
ITERATIONS = 2_000


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _rate(function: Callable[[Any], object], event: Any, iterations: int = ITERATIONS) -> float:
    function(event)  # warm up (and fail loudly if the fixture no longer normalizes)
    start = time.perf_counter()
    for _ in range(iterations):
        function(event)
    return iterations / (time.perf_counter() - start)


def run() -> list[tuple[str, str]]:
    sqs_batch = _load("sqs_batch_ecr.json")
    cases: list[tuple[str, Callable[[Any], object], Any]] = [
        ("parse image reference", parse_image_ref, "111122223333.dkr.ecr.us-east-1.amazonaws.com/a/b:1.0"),
        ("normalize ECR push", normalize_ecr_push, _load("ecr_push.json")),
        (
            "normalize ECR CloudTrail PutImage",
            normalize_ecr_cloudtrail,
            _load("ecr_cloudtrail_put_image.json"),
        ),
        (
            "normalize Lambda CreateFunction (zip)",
            normalize_lambda_cloudtrail,
            _load("lambda_create_function_zip.json"),
        ),
        (
            "normalize ECS RegisterTaskDefinition (4 images)",
            normalize_ecs_cloudtrail,
            _load("ecs_register_task_definition.json"),
        ),
        ("normalize ECS RunTask", normalize_ecs_cloudtrail, _load("ecs_run_task.json")),
        ("normalize Event Grid ACI write", normalize_eventgrid, _load("azure_eventgrid_aci_write.json")),
        (
            "normalize Activity Log body (4 records)",
            normalize_activity_log,
            _load("azure_activitylog_eventhub_batch.json"),
        ),
        ("normalize reconciler request", normalize_reconciler, _load("reconciler_image.json")),
        ("normalize SQS record (ECR push)", normalize_sqs_record, sqs_batch["Records"][0]),
        ("normalize auto-detect (ECR push)", normalize, _load("ecr_push.json")),
    ]
    rows = []
    for label, function, event in cases:
        unit = "refs/s" if function is parse_image_ref else "events/s"
        rows.append((label, f"{_rate(function, event):,.0f} {unit}"))
    return rows
