"""The Fargate workflow measured on moto: executions per minute and state transitions per image, from the history.

Set-up: `tests.harness.fargate_world` on its own moto server (the rendered modules/fargate/workflow.asl.json,
the real task functions in this process through `tests.harness.lambda_runner`, the fake qscanner with no
scenario: every scan succeeds at once). TASK_DEFINITIONS task definitions of IMAGES_PER_TASK images each (one
container per image, every image new) are registered in moto. Phase "new": one RegisterTaskDefinition execution
per task definition, all started together (every image is scanned); phase "deduplicated": one UpdateService
execution per task definition to the same revision, all started together (every image is already scanned).

Figures: executions per minute per phase and over both (start of the first execution to the end of the last
of that set, including moto's interpreter and the handler's AWS calls to moto, which share this machine's
cores with the fake scanners); and, read from each execution's `get_execution_history`, the billed state
transitions of a Standard workflow (states entered plus retry attempts; no Task retries unless the emulator
stalls): per execution, and per image without the two states every execution enters once (ParseEvent, the
ScanImages Map), and the task-function invocations per image. tests/harness/fargate_cost.py calculates the same transitions from the ASL for the
cost tables; this bench is the measured counterpart. Emulator figures: compare runs on the same machine.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.harness.fargate_world import Execution, FargateWorld, fargate_world
from tests.harness.moto_server import running_moto_server

TASK_DEFINITIONS = 10
IMAGES_PER_TASK = 3
ONCE_PER_EXECUTION = ("ParseEvent", "ScanImages")


def _phase(world: FargateWorld, events: list[dict[str, object]]) -> tuple[float, list[Execution]]:
    """Start every execution at once, wait for all; the wall time from the first start to the last end."""
    started = time.perf_counter()
    arns = [world.start(event) for event in events]
    executions = [world.wait(arn, limit=300.0) for arn in arns]
    elapsed = time.perf_counter() - started
    failed = [e.arn for e in executions if e.status != "SUCCEEDED"]
    if failed:
        raise RuntimeError(f"{len(failed)} execution(s) did not succeed, e.g. {failed[0]}")
    return elapsed, executions


def _per_image(executions: list[Execution]) -> float:
    per_image = [
        (e.transitions() - sum(e.entered(s) for s in ONCE_PER_EXECUTION)) / len(e.outcomes)
        for e in executions
    ]
    return statistics.median(per_image)


def _statuses(executions: list[Execution]) -> set[str]:
    return {status for e in executions for status in e.statuses().values()}


def measure(tmp: Path) -> list[tuple[str, str]]:
    with (
        running_moto_server(tmp / "moto") as server,
        pytest.MonkeyPatch.context() as monkeypatch,
        ExitStack() as stack,
    ):
        # The handler's JSON logs would bury the figures; its failures fail an execution, which fails the bench.
        monkeypatch.setenv("QSCAN_LOG_LEVEL", "ERROR")
        with fargate_world(server, tmp, monkeypatch) as world:
            # One process serves every concurrent invocation here (not so on Lambda): urllib3 would warn, per
            # request, that the handler's connection pools are full.
            pool_log = logging.getLogger("urllib3.connectionpool")
            stack.callback(pool_log.setLevel, pool_log.level)
            pool_log.setLevel(logging.ERROR)
            tasks = [
                world.register(
                    f"bench-{t}", [world.push(f"bench/app-{t}-{i}", "1.0") for i in range(IMAGES_PER_TASK)]
                )
                for t in range(TASK_DEFINITIONS)
            ]
            new_seconds, new = _phase(world, [world.register_event(task) for task in tasks])
            calls_new = len(world.runner.calls)
            dedupe_seconds, deduplicated = _phase(
                world, [world.update_service_event(task, "bench", f"svc-{i}") for i, task in enumerate(tasks)]
            )
            calls_dedupe = len(world.runner.calls) - calls_new
            scans = int(world.module.HANDLER.scanner.started)
    images = TASK_DEFINITIONS * IMAGES_PER_TASK
    total = len(new) + len(deduplicated)
    return [
        (
            "executions (new + deduplicated) x images each",
            f"{len(new)} + {len(deduplicated)} x {IMAGES_PER_TASK}",
        ),
        (
            "image outcomes new / deduplicated",
            f"{sorted(_statuses(new))} / {sorted(_statuses(deduplicated))}",
        ),
        ("scans (fake qscanner runs) for the unique images", f"{scans} for {images}"),
        ("executions per minute, new (all scanned)", f"{len(new) / new_seconds * 60:,.0f}"),
        ("executions per minute, deduplicated", f"{len(deduplicated) / dedupe_seconds * 60:,.0f}"),
        ("executions per minute, both", f"{total / (new_seconds + dedupe_seconds) * 60:,.0f}"),
        (
            f"transitions per execution ({IMAGES_PER_TASK} images) new / deduplicated",
            f"{statistics.median(e.transitions() for e in new):.0f} / "
            f"{statistics.median(e.transitions() for e in deduplicated):.0f}",
        ),
        (
            "transitions per image (without ParseEvent and the Map) scanned / deduplicated",
            f"{_per_image(new):.1f} / {_per_image(deduplicated):.1f}",
        ),
        (
            "task-function invocations per image scanned / deduplicated",
            f"{(calls_new - len(new)) / images:.1f} / {(calls_dedupe - len(deduplicated)) / images:.1f}"
            " (+1 parse per execution)",
        ),
    ]


def run() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="qscan-bench-fargate-") as tmp:
        return measure(Path(tmp))


if __name__ == "__main__":
    for label, figure in run():
        print(f"{label}: {figure}")
