"""modules/fargate/workflow.asl.json: valid ASL once rendered, and the workflow's safety rules hold.

The template is rendered here the way `templatefile` renders it (it only uses plain `${name}` interpolations,
which test_template_uses_only_the_variables_main_tf_passes checks against the call in main.tf), then
validated by `asl-validator` (npm) and checked structurally: every Task retries the named transient errors
with backoff and a bounded number of attempts and catches everything into the release-and-notify path; the
Map is bounded; the only loop (registry-sensor polling) passes a counter that grows by exactly one per poll
and is bounded by max_polls; a poll timeout and every other failure notify.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULE = REPO_ROOT / "modules" / "fargate"
TEMPLATE = MODULE / "workflow.asl.json"
ASL_VALIDATOR = REPO_ROOT / "node_modules" / ".bin" / "asl-validator"
FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:qscan-fargate-tasks"
TRANSIENT = {
    "TransientStepError",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
PLACEHOLDER = re.compile(r"\$\{([a-z_]+)\}")

VALUES: dict[str, str | int] = {
    "task_function_arn": FUNCTION_ARN,
    "backend": "qualys-api",
    "max_concurrency": 4,
    "max_polls": 30,
    "poll_interval_seconds": 30,
    "task_timeout_seconds": 120,
    "scan_timeout_seconds": 900,
    "execution_timeout_seconds": 7200,
    "retry_interval_seconds": 5,
    "retry_max_attempts": 3,
    "retry_max_delay_seconds": 120,
}


def render(values: dict[str, str | int]) -> dict[str, Any]:
    text = PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), TEMPLATE.read_text())
    definition: dict[str, Any] = json.loads(text)
    return definition


def all_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, those inside Map item processors included."""
    for name, state in states.items():
        yield name, state
        if state["Type"] == "Map":
            yield from all_states(state["ItemProcessor"]["States"])


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return render(VALUES)


@pytest.fixture(scope="module")
def image_states(definition: dict[str, Any]) -> dict[str, Any]:
    states: dict[str, Any] = definition["States"]["ScanImages"]["ItemProcessor"]["States"]
    return states


def test_template_uses_only_the_variables_main_tf_passes() -> None:
    main_tf = (MODULE / "main.tf").read_text()
    call = re.search(
        r'templatefile\("\$\{path\.module\}/workflow\.asl\.json", \{(.*?)\n  \}\)', main_tf, re.S
    )
    assert call is not None
    passed = set(re.findall(r"^\s*([a-z_]+)\s*=", call.group(1), re.M))
    used = set(PLACEHOLDER.findall(TEMPLATE.read_text()))
    assert used == passed == set(VALUES)
    # No templatefile directives: the file stays JSON-shaped and readable on its own.
    assert "%{" not in TEMPLATE.read_text()


@pytest.mark.parametrize("backend", ["qscanner", "qualys-api"])
def test_asl_validator_accepts_the_rendered_definition(backend: str, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not ASL_VALIDATOR.exists():
        pytest.skip("node or node_modules/.bin/asl-validator missing (run `make bootstrap`)")
    rendered = tmp_path / "workflow.json"
    rendered.write_text(json.dumps(render({**VALUES, "backend": backend})))
    done = subprocess.run(
        [str(ASL_VALIDATOR), "--json-path", str(rendered)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_asl_validator_rejects_a_broken_definition(tmp_path: Path) -> None:
    """The validator run above is not vacuous: a dangling Next fails it."""
    node = shutil.which("node")
    if node is None or not ASL_VALIDATOR.exists():
        pytest.skip("node or node_modules/.bin/asl-validator missing (run `make bootstrap`)")
    broken = render(VALUES)
    broken["States"]["ParseEvent"]["Next"] = "NoSuchState"
    rendered = tmp_path / "broken.json"
    rendered.write_text(json.dumps(broken))
    done = subprocess.run(
        [str(ASL_VALIDATOR), "--json-path", str(rendered)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0


def test_execution_has_a_timeout(definition: dict[str, Any]) -> None:
    assert definition["TimeoutSeconds"] == VALUES["execution_timeout_seconds"]


def test_every_task_retries_transient_errors_and_catches_everything(definition: dict[str, Any]) -> None:
    tasks = [(name, state) for name, state in all_states(definition["States"]) if state["Type"] == "Task"]
    assert len(tasks) == 10
    for name, state in tasks:
        assert state["Resource"] == FUNCTION_ARN, name
        assert state["Parameters"]["step"], name
        assert 0 < state["TimeoutSeconds"] <= 900, name
        (retry,) = state["Retry"]
        assert set(retry["ErrorEquals"]) == TRANSIENT, name
        assert "States.ALL" not in retry["ErrorEquals"], name
        assert retry["MaxAttempts"] == VALUES["retry_max_attempts"], name
        assert retry["BackoffRate"] > 1 and retry["IntervalSeconds"] >= 1, name
        (catch,) = state["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"], name


def test_image_failures_release_the_claim_then_notify(image_states: dict[str, Any]) -> None:
    for name, state in image_states.items():
        if state["Type"] != "Task" or name in {"ReleaseClaim", "NotifyImageFailure"}:
            continue
        assert state["Catch"][0]["Next"] == "ReleaseClaim", name
        assert state["Catch"][0]["ResultPath"] == "$.error", name
    release = image_states["ReleaseClaim"]
    assert release["Parameters"]["step"] == "release"
    # A failed release still notifies, with the original error (the release error goes elsewhere).
    assert release["Next"] == release["Catch"][0]["Next"] == "NotifyImageFailure"
    assert release["Catch"][0]["ResultPath"] != "$.error"
    notify = image_states["NotifyImageFailure"]
    assert notify["Parameters"]["step"] == "notify_failure"
    assert notify["Parameters"]["error.$"] == "$.error"
    # If not even the notification goes out, the execution fails (and is alarmed): never silence.
    assert image_states[notify["Catch"][0]["Next"]]["Type"] == "Fail"


def test_event_failures_notify_and_fail(definition: dict[str, Any]) -> None:
    states = definition["States"]
    parse = states["ParseEvent"]
    notify = states[parse["Catch"][0]["Next"]]
    assert notify["Parameters"]["step"] == "notify_failure"
    assert states[notify["Next"]]["Type"] == "Fail"
    assert states[notify["Catch"][0]["Next"]]["Type"] == "Fail"


def test_map_is_bounded_and_starts_with_a_claim(definition: dict[str, Any]) -> None:
    maps = [state for _, state in all_states(definition["States"]) if state["Type"] == "Map"]
    assert len(maps) == 1
    (scan_images,) = maps
    assert scan_images["MaxConcurrency"] == VALUES["max_concurrency"] > 0
    assert scan_images["ItemProcessor"]["StartAt"] == "Claim"
    assert scan_images["ItemSelector"]["backend"] == VALUES["backend"]


def successors(state: dict[str, Any]) -> set[str]:
    found = {state["Next"]} if "Next" in state else set()
    found |= {choice["Next"] for choice in state.get("Choices", [])}
    found |= {state["Default"]} if "Default" in state else set()
    found |= {catch["Next"] for catch in state.get("Catch", [])}
    return found


def cycles(states: dict[str, Any]) -> list[list[str]]:
    """Every elementary cycle of the state graph, each as the list of its states from its smallest name."""
    found: set[tuple[str, ...]] = set()

    def walk(path: list[str]) -> None:
        for nxt in successors(states[path[-1]]):
            if nxt == path[0]:
                start = path.index(min(path))
                found.add(tuple(path[start:] + path[:start]))
            elif nxt not in path and nxt > path[0]:
                walk([*path, nxt])

    for name in states:
        walk([name])
    return [list(cycle) for cycle in sorted(found)]


def test_the_only_loop_is_the_poll_loop_with_one_counted_poll(image_states: dict[str, Any]) -> None:
    (loop,) = cycles(image_states)
    assert set(loop) == {"WaitForScan", "PollScan", "CountPoll", "ScanDone"}
    # Exactly one poll and one increment per round, and the counter starts at 0 before the loop.
    assert [image_states[name]["Type"] for name in loop].count("Task") == 1
    increments = [name for name in loop if "States.MathAdd" in json.dumps(image_states[name])]
    assert increments == ["CountPoll"]
    assert image_states["CountPoll"]["Parameters"] == {"count.$": "States.MathAdd($.polls.count, 1)"}
    assert image_states["CountPoll"]["ResultPath"] == "$.polls"
    assert image_states["PollScan"]["Next"] == "CountPoll"
    assert image_states["StartPolling"]["Result"] == {"count": 0}
    assert image_states["StartPolling"]["ResultPath"] == "$.polls"
    # The counter is passed to the poll step and bounds the loop.
    assert image_states["PollScan"]["Parameters"]["polls.$"] == "$.polls"
    bound = [
        choice for choice in image_states["ScanDone"]["Choices"] if choice.get("Variable") == "$.polls.count"
    ]
    assert bound == [
        {
            "Variable": "$.polls.count",
            "NumericGreaterThanEquals": VALUES["max_polls"],
            "Next": "PollTimedOut",
        }
    ]


def test_poll_timeout_is_a_notified_failure(image_states: dict[str, Any]) -> None:
    timed_out = image_states["PollTimedOut"]
    assert timed_out["ResultPath"] == "$.error"
    assert timed_out["Parameters"]["Error"] == "qscan.PollTimeout"
    assert timed_out["Next"] == "ReleaseClaim"


def test_loop_check_finds_an_unbounded_loop(image_states: dict[str, Any]) -> None:
    """The cycle finder is not vacuous: a second loop (fetch back to wait) shows up."""
    states = json.loads(json.dumps(image_states))
    del states["FetchResults"]["End"]
    states["FetchResults"]["Next"] = "WaitForScan"
    assert len(cycles(states)) == 2


def test_both_backends_end_in_the_cores_record_step(image_states: dict[str, Any]) -> None:
    """Persist, notify and complete run in the scan's last task (the core's Pipeline.record): results never
    cross the 256 KB state limit, and the step is the same code the queue-fed handlers run."""
    assert image_states["Backend"]["Choices"] == [
        {"Variable": "$.backend", "StringEquals": "qualys-api", "Next": "EnsureRegistry"}
    ]
    assert image_states["Backend"]["Default"] == "ScanWithQscanner"
    for name, step in (("ScanWithQscanner", "scan_qscanner"), ("FetchResults", "fetch_results")):
        state = image_states[name]
        assert state["End"] is True, name
        assert state["Parameters"]["step"] == step
        assert state["Parameters"]["claim.$"] == "$.claim"
        assert state["TimeoutSeconds"] == VALUES["scan_timeout_seconds"]
    assert image_states["AlreadyScanned"]["Choices"][0]["Next"] == "Deduplicated"


def test_the_sensor_state_threads_through_the_registry_steps(image_states: dict[str, Any]) -> None:
    """ensure -> schedule -> poll -> fetch hand one `$.sensor` state on; the loop ends when Qualys is done."""
    for name in ("EnsureRegistry", "ScheduleScan", "PollScan"):
        assert image_states[name]["ResultPath"] == "$.sensor", name
    for name in ("ScheduleScan", "PollScan", "FetchResults"):
        assert image_states[name]["Parameters"]["sensor.$"] == "$.sensor", name
    assert image_states["ScanDone"]["Choices"][0] == {
        "Variable": "$.sensor.poll.done",
        "BooleanEquals": True,
        "Next": "FetchResults",
    }


def test_every_item_path_the_tasks_read_is_initialized(definition: dict[str, Any]) -> None:
    """A JSONPath to a missing field fails the state (States.Runtime): the Map item starts with every field
    that a failure path reads, whichever backend and wherever it failed."""
    selector = definition["States"]["ScanImages"]["ItemSelector"]
    assert {"image.$", "context.$", "backend", "claim", "error", "sensor"} <= set(selector)
    assert definition["States"]["ParseEvent"]["Parameters"]["execution.$"] == "$$.Execution.Name"
