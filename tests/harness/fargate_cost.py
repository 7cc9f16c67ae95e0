"""The Fargate workflow's cost and limits, calculated from the rendered modules/fargate/workflow.asl.json.

`walk(definition, scenario)` runs the rendered definition the way Step Functions would for one scenario
(backend, new or deduplicated images, the poll at which Qualys is done, steps that fail): it follows
Next / Choice / Default / Catch / Retry / End through the top-level states and each Map iteration, applying
Parameters, Result and ResultPath to a JSON state built from the handler's real output shapes. It counts:

- **billed state transitions** (Standard workflows): one per state entered (Task, Pass, Choice, Wait, Succeed,
  Fail, the Map state itself and every state of every iteration) plus one per retry attempt;
- **execution history events**: ExecutionStarted and the closing event; Task: TaskStateEntered, three events
  per attempt (LambdaFunctionScheduled, LambdaFunctionStarted, LambdaFunctionSucceeded or -Failed) and
  TaskStateExited; Pass, Choice, Wait, Succeed: Entered + Exited; Fail: FailStateEntered; Map: MapStateEntered,
  MapStateStarted, MapStateSucceeded, MapStateExited and MapIterationStarted + -Succeeded per item;
- Lambda invocations per handler step, and the largest state or task input (bytes of compact JSON).

A field the walker does not model (InputPath, a Choice operator it cannot evaluate, ...) raises `WalkError`:
an ASL change is then a loud test failure here, never a silently wrong figure. `FORMULAS` are the documented
per-path figures (`tests/unit/test_fargate_cost.py` checks the walker against them); `cost_section()` renders
the generated block of docs/fargate.md ("Cost and limits"): `python -m tests.harness.fargate_cost --write`.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qscan.events._util import image_target
from qscan.registry.resolver import Resolution, resolved_target
from qscan.results.model import SeverityCounts
from qscan.scanners.sensor_flow import DEFAULT_MAX_POLLS, DEFAULT_POLL_INTERVAL

from scripts.hcl import load_hcl
from tests.unit.test_fargate_workflow import FUNCTION_ARN, render

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULE = REPO_ROOT / "modules" / "fargate"
HANDLER = REPO_ROOT / "handlers" / "aws" / "fargate" / "handler.py"
DOC = REPO_ROOT / "docs" / "fargate.md"
EVENT_FIXTURE = REPO_ROOT / "tests" / "fixtures" / "events" / "ecs_register_task_definition.json"
BEGIN, END = (
    "<!-- BEGIN_COST_TABLES (python -m tests.harness.fargate_cost --write) -->",
    "<!-- END_COST_TABLES -->",
)

# ------------------------------------------------------------------------------------------- AWS facts
# List prices, us-east-1, read 2026-12-02; free tiers ignored (they are per account and month, not per deployment).
# https://aws.amazon.com/step-functions/pricing/ : Standard workflows $0.0250 per 1,000 state transitions; "each
#   retry will be charged as an additional state transition".
# https://aws.amazon.com/lambda/pricing/ : $0.20 per 1M requests; x86 duration $0.0000166667 per GB-second (first
#   6 billion GB-seconds a month). The task function is x86_64 (qscanner ships for linux-amd64 only).
PRICE_PER_TRANSITION = 0.025 / 1_000
PRICE_PER_LAMBDA_REQUEST = 0.20 / 1_000_000
PRICE_PER_GB_SECOND = 0.0000166667
# https://docs.aws.amazon.com/step-functions/latest/dg/limits.html (Standard workflows): 262,144 bytes of UTF-8
# per task/state/execution input or output; 25,000 events in one execution history (the execution fails at the
# limit). https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html: an Inline Map runs at most
# 40 iterations at a time. Lambda runs a function for at most 900 seconds.
PAYLOAD_LIMIT_BYTES = 262_144
HISTORY_LIMIT_EVENTS = 25_000
INLINE_MAP_CONCURRENCY = 40
LAMBDA_MAX_SECONDS = 900
# DESIGN §4 (Qualys Container Security API): images/** 5000 and registry/** 1000 calls per 60 s, ~10 concurrent.
QUALYS_IMAGES_PER_MINUTE = 5_000
QUALYS_REGISTRY_PER_MINUTE = 1_000
QUALYS_CONCURRENT_CALLS = 10
# Qualys calls per handler step (qscan.scanners.sensor_flow over qscan.scanners.qualys_api, one page each, a tag
# known): a poll looks the image id up (GET /images?filter) until Qualys knows it, then GET /images/{id}.
IMAGES_CALLS_PER_POLL = 2
REGISTRY_CALLS_PER_IMAGE = 2  # GET /registry?filter (ensure_registry) + POST /registry/{uuid}/schedule

# Lambda duration assumption (seconds per invocation): the qscanner scan (pull + scan + record) 60 s, every
# other step (ECS/ECR reads, DynamoDB, one or two Qualys calls, the record step) 1 s; all at memory_size.
STEP_SECONDS: Mapping[str, float] = {"scan_qscanner": 60.0}
OTHER_STEP_SECONDS = 1.0

ACCOUNT, REGION = "444455556666", "eu-west-1"
EXECUTION_NAME = "5f0c6d2e-8a3b-4c1d-9e7f-2a4b6c8d0e1f"  # EventBridge names executions by UUID


class WalkError(AssertionError):
    """The rendered definition uses something the walker does not model (extend this module)."""


# ------------------------------------------------------------------------------------------- module inputs
@functools.cache
def _variables() -> dict[str, dict[str, Any]]:
    blocks = load_hcl(MODULE / "variables.tf")["variable"]
    return {name: body for block in blocks for name, body in block.items()}


def variable_default(name: str) -> Any:
    return _variables()[name]["default"]


def variable_bounds(name: str) -> tuple[int, int]:
    """(lowest, highest) allowed by the variable's validation (`var.x >= a && var.x <= b`)."""
    condition = " ".join(v["condition"] for v in _variables()[name]["validation"])
    low = re.search(rf"var\.{name} >= (\d+)", condition)
    high = re.search(rf"var\.{name} <= (\d+)", condition)
    if low is None or high is None:
        raise WalkError(f"variable {name}: no `>= a && <= b` bounds in its validation")
    return int(low.group(1)), int(high.group(1))


def retry_default(field_name: str) -> int:
    found = re.search(rf"{field_name} = optional\(number, (\d+)\)", _variables()["retry"]["type"])
    if found is None:
        raise WalkError(f"retry.{field_name}: no optional(number, N) default in variables.tf")
    return int(found.group(1))


def max_images() -> int:
    found = re.search(r"^MAX_IMAGES = (\d+)$", HANDLER.read_text(), re.M)
    if found is None:
        raise WalkError("handlers/aws/fargate/handler.py: MAX_IMAGES not found")
    return int(found.group(1))


def lease_terms() -> tuple[int, int, int]:
    """main.tf: QSCAN_SCAN_TIMEOUT_SECONDS = scan_timeout - a; lease margin = min(cap, polls * interval + b)."""
    main_tf = (MODULE / "main.tf").read_text()
    timeout = re.search(
        r"QSCAN_SCAN_TIMEOUT_SECONDS = tostring\(var\.scan_timeout_seconds - (\d+)\)", main_tf
    )
    margin = re.search(
        r"QSCAN_LEASE_MARGIN_SECONDS .*min\((\d+), var\.max_polls \* var\.poll_interval_seconds \+ (\d+)\)",
        main_tf,
    )
    if timeout is None or margin is None:
        raise WalkError("modules/fargate/main.tf: scan timeout or lease margin expression changed")
    return int(timeout.group(1)), int(margin.group(1)), int(margin.group(2))


def template_values(backend: str, **overrides: int) -> dict[str, str | int]:
    """The templatefile() values main.tf passes, at the module's defaults (overrides by template name)."""
    values: dict[str, str | int] = {
        "task_function_arn": FUNCTION_ARN,
        "backend": backend,
        "max_concurrency": variable_default("max_concurrency"),
        "max_polls": variable_default("max_polls"),
        "poll_interval_seconds": variable_default("poll_interval_seconds"),
        "task_timeout_seconds": variable_default("task_timeout_seconds"),
        "scan_timeout_seconds": variable_default("scan_timeout_seconds"),
        "execution_timeout_seconds": variable_default("execution_timeout_seconds"),
        "retry_interval_seconds": retry_default("interval_seconds"),
        "retry_max_attempts": retry_default("max_attempts"),
        "retry_max_delay_seconds": retry_default("max_delay_seconds"),
    }
    unknown = set(overrides) - set(values)
    if unknown:
        raise WalkError(f"unknown template values {sorted(unknown)}")
    return {**values, **overrides}


def definition_for(backend: str, **overrides: int) -> dict[str, Any]:
    return render(template_values(backend, **overrides))


# ------------------------------------------------------------------------------------------- scenarios
@dataclass(frozen=True)
class Scenario:
    """One execution: `images` unique images, each taking the same path.

    `deduplicated`: every claim finds a completed scan. `polls`: the poll at which Qualys reports the scan done
    (beyond max_polls the image times out). `failing`: handler steps that fail on every attempt with `error`
    (a name the Retry rules do not list goes straight to Catch; TransientStepError is retried first).
    `transient`: handler step -> failures with TransientStepError before it succeeds (retries).
    """

    backend: str
    images: int = 1
    deduplicated: bool = False
    polls: int = 1
    failing: tuple[str, ...] = ()
    error: str = "PermanentStepError"
    transient: Mapping[str, int] = field(default_factory=dict)


@dataclass
class Walk:
    status: str = "RUNNING"
    transitions: int = 0
    events: int = 2  # ExecutionStarted + ExecutionSucceeded | ExecutionFailed
    invocations: Counter[str] = field(default_factory=Counter)
    entered: Counter[str] = field(default_factory=Counter)
    largest_payload: int = 0
    largest_payload_at: str = ""
    output: Any = None

    def measure(self, where: str, value: Any) -> None:
        size = len(json.dumps(value, separators=(",", ":")).encode())
        if size > self.largest_payload:
            self.largest_payload, self.largest_payload_at = size, where

    def lambda_requests(self) -> int:
        return sum(self.invocations.values())

    def gb_seconds(self, memory_mb: int) -> float:
        seconds = sum(n * STEP_SECONDS.get(step, OTHER_STEP_SECONDS) for step, n in self.invocations.items())
        return seconds * memory_mb / 1024

    def cost(self, memory_mb: int) -> tuple[float, float]:
        """(Step Functions, Lambda) list price of the execution in dollars."""
        lambda_cost = self.lambda_requests() * PRICE_PER_LAMBDA_REQUEST + self.gb_seconds(memory_mb) * (
            PRICE_PER_GB_SECOND
        )
        return self.transitions * PRICE_PER_TRANSITION, lambda_cost


def execution_input(images: int) -> dict[str, Any]:
    """The realistic RegisterTaskDefinition event (tests/fixtures) with `images` containers of distinct images."""
    event: dict[str, Any] = json.loads(EVENT_FIXTURE.read_text())
    detail = event["detail"]
    for holder in (detail["requestParameters"], detail.get("responseElements", {}).get("taskDefinition", {})):
        if "containerDefinitions" not in holder:
            continue
        template = holder["containerDefinitions"][0]
        holder["containerDefinitions"] = [
            {**copy.deepcopy(template), "name": f"container-{i}", "image": _image_ref(i)}
            for i in range(images)
        ]
    return event


def _image_ref(index: int) -> str:
    return f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/shop/checkout-service-{index}:v2.14.{index}"


def _digest(index: int, salt: str = "m") -> str:
    return "sha256:" + f"{salt}{index:04d}".encode().hex().ljust(64, "0")[:64]


class StepOutputs:
    """What each handler step returns (the shapes of handlers/aws/fargate/handler.py and sensor_flow)."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario

    def __call__(self, step: str, task_input: dict[str, Any]) -> Any:
        handler: Callable[[dict[str, Any]], Any] | None = getattr(self, f"_{step}", None)
        if handler is None:
            raise WalkError(f"no modeled output for handler step {step!r}")
        return handler(task_input)

    def _parse(self, task_input: dict[str, Any]) -> dict[str, Any]:
        source = task_input["event"]
        task_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/checkout-service:42"
        images = []
        for index in range(self.scenario.images):
            target = image_target(
                _image_ref(index),
                "ecs",
                what=f"containerDefinitions[{index}].image",
                account=ACCOUNT,
                region=REGION,
                resource_id=task_arn,
                event_id=source["id"],
            )
            resolution = Resolution(
                str(target.image), _digest(index), None, _digest(index, "i"), "linux/amd64"
            )
            images.append(
                {"target": resolved_target(target, resolution).to_dict(), "containers": [f"c-{index}"]}
            )
        context = {
            "owner": task_input["execution"],
            "event_id": source["id"],
            "account": ACCOUNT,
            "region": REGION,
            "event_name": source["detail"]["eventName"],
            "cluster": None,
        }
        return {"context": context, "images": images}

    def _claim(self, task_input: dict[str, Any]) -> dict[str, Any]:
        key = task_input["image"]["target"]["dedupe_key"]
        if self.scenario.deduplicated:
            return {"claimed": False, "key": key, "disposition": "cached"}
        return {"claimed": True, "key": key}

    def _summary(self, task_input: dict[str, Any]) -> dict[str, Any]:
        digest = task_input["image"]["target"]["digest"]
        return {
            "outcome": "scanned",
            "key": task_input["image"]["target"]["dedupe_key"],
            "status": "success",
            "scan_id": "0b4f8e0c-3a55-4c8e-9b1e-6f2d7a9c1e44",
            "result_location": f"s3://qscan-results-{ACCOUNT}-{REGION}/results/ecs/{ACCOUNT}/{REGION}/"
            f"{digest.replace(':', '-')}/0b4f8e0c-3a55-4c8e-9b1e-6f2d7a9c1e44.json",
            "counts": SeverityCounts(critical=1, high=7, medium=23, low=41, info=12).to_dict(),
            "notified": True,
        }

    _scan_qscanner = _summary
    _fetch_results = _summary

    def _ensure_registry(self, task_input: dict[str, Any]) -> dict[str, Any]:
        registry = task_input["image"]["target"]["registry"]
        return {
            "target": task_input["image"]["target"],
            "role_arn": f"arn:aws:iam::{ACCOUNT}:role/qscan-qualys-registry-read",
            "registry": {"uuid": "8c1f4b6e-2d3a-4e5f-9a7b-1c2d3e4f5a6b", "uri": f"https://{registry}"},
        }

    def _schedule_scan(self, task_input: dict[str, Any]) -> dict[str, Any]:
        sensor = dict(task_input["sensor"])
        sensor["schedule"] = {
            "id": "3e9d2c1b-7a6f-4e5d-8c9b-0a1f2e3d4c5b",
            "at": "2026-12-02T01:30:00.123456Z",
            "tag": task_input["image"]["target"]["tag"],
        }
        sensor["poll"] = {
            "attempts": 0,
            "max_attempts": DEFAULT_MAX_POLLS,  # schedule's defaults: the workflow passes no poll settings
            "interval_seconds": DEFAULT_POLL_INTERVAL,
            "done": False,
            "status": "pending",
            "image_sha": None,
        }
        return sensor

    def _poll_scan(self, task_input: dict[str, Any]) -> dict[str, Any]:
        sensor = dict(task_input["sensor"])
        done = task_input["polls"]["count"] + 1 >= self.scenario.polls
        sensor["poll"] = {
            **sensor["poll"],
            "done": done,
            "status": "success" if done else "pending",
            "image_sha": "a" * 64,
        }
        return sensor

    def _release(self, task_input: dict[str, Any]) -> dict[str, Any]:
        return {"released": task_input["claim"].get("claimed") is True}

    def _notify_failure(self, task_input: dict[str, Any]) -> dict[str, Any]:
        return {"notified": True}


# ------------------------------------------------------------------------------------------- the walker
_FIELDS = {
    "Task": {"Resource", "Parameters", "TimeoutSeconds", "ResultPath", "OutputPath", "Retry", "Catch"},
    "Pass": {"Result", "Parameters", "ResultPath"},
    "Choice": {"Choices", "Default"},
    "Wait": {"Seconds"},
    "Succeed": set(),
    "Fail": {"Error", "Cause"},
    "Map": {"ItemsPath", "MaxConcurrency", "ItemSelector", "ItemProcessor", "ResultPath"},
}
_COMMON = {"Type", "Comment", "Next", "End"}
_TOP = {"Comment", "StartAt", "TimeoutSeconds", "States"}
_PATH = re.compile(r"^\$(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")
_INTRINSIC = re.compile(r"^States\.(\w+)\((.*)\)$")
# Every state entered writes at least one history event: far beyond the 25,000-event limit is a loop.
STEP_LIMIT = 10 * HISTORY_LIMIT_EVENTS


def walk(definition: dict[str, Any], scenario: Scenario, step_limit: int = STEP_LIMIT) -> Walk:
    """Run `definition` for `scenario` (see the module doc); the execution's counts and its output."""
    extra = set(definition) - _TOP
    if extra:
        raise WalkError(f"top level: the walker does not model {sorted(extra)}")
    run = _Run(scenario, step_limit)
    event = execution_input(scenario.images)
    run.walk.measure("execution input", event)
    status, output = run.states(definition["States"], definition["StartAt"], event, "")
    run.walk.status, run.walk.output = status, output
    run.walk.measure("execution output", output)
    return run.walk


class _Run:
    def __init__(self, scenario: Scenario, step_limit: int) -> None:
        self.scenario, self.step_limit = scenario, step_limit
        self.outputs = StepOutputs(scenario)
        self.walk = Walk()
        self.steps = 0
        self.context: dict[str, Any] = {"Execution": {"Name": EXECUTION_NAME}}

    def states(self, states: dict[str, Any], start: str, data: Any, prefix: str) -> tuple[str, Any]:
        name = start
        while True:
            self.steps += 1
            if self.steps > self.step_limit:
                raise WalkError(f"more than {self.step_limit} states entered: an unbounded loop at {name}")
            if name not in states:
                raise WalkError(f"{prefix}{name}: no such state")
            state = states[name]
            kind = state["Type"]
            if kind not in _FIELDS:
                raise WalkError(f"{prefix}{name}: the walker does not model {kind} states")
            extra = set(state) - _COMMON - _FIELDS[kind]
            if extra:
                raise WalkError(
                    f"{prefix}{name}: the walker does not model {sorted(extra)} on a {kind} state"
                )
            self.walk.transitions += 1
            self.walk.entered[prefix + name] += 1
            self.walk.measure(f"{prefix}{name} input", data)
            if kind == "Fail":
                self.walk.events += 1  # FailStateEntered; the execution (or iteration) fails
                return "FAILED", data
            if kind == "Choice":
                self.walk.events += 2
                name = self.choose(state, data, prefix + name)
                continue
            if kind == "Task":
                caught, data = self.task(state, data, prefix + name)
                if caught is not None:
                    name = caught
                    continue
            elif kind == "Pass":
                self.walk.events += 2
                result = state.get("Result", data)
                if "Parameters" in state:
                    result = self.parameters(state["Parameters"], data, prefix + name)
                data = set_path(data, state.get("ResultPath", "$"), result)
            elif kind == "Map":
                status, data = self.map(state, data, prefix + name)
                if status == "FAILED":
                    return status, data
            else:  # Wait, Succeed
                self.walk.events += 2
                if kind == "Succeed":
                    return "SUCCEEDED", data
            if state.get("End") is True:
                return "SUCCEEDED", data
            name = state["Next"]

    def task(self, state: dict[str, Any], data: Any, where: str) -> tuple[str | None, Any]:
        """Run a Task with its Retry rules; (the Catch's Next, the state) on a caught failure, (None, state)."""
        task_input = self.parameters(state.get("Parameters", {}), data, where)
        step = str(task_input.get("step"))
        self.walk.measure(f"{where} task input", task_input)
        self.walk.events += 2  # TaskStateEntered, TaskStateExited
        transient = self.scenario.transient.get(step, 0)
        retried: Counter[int] = Counter()
        attempt = 0
        while True:
            attempt += 1
            self.walk.invocations[step] += 1
            self.walk.events += 3  # LambdaFunctionScheduled, -Started, -Succeeded | -Failed
            if step in self.scenario.failing:
                error = self.scenario.error
            elif attempt <= transient:
                error = "TransientStepError"
            else:
                result = self.outputs(step, task_input)
                self.walk.measure(f"{where} task output", result)
                data = set_path(data, state.get("ResultPath", "$"), result)
                return None, get_path(data, state.get("OutputPath", "$"), where)
            rule = _matching(state.get("Retry", []), error)
            if rule is not None and retried[rule] < state["Retry"][rule].get("MaxAttempts", 3):
                retried[rule] += 1
                self.walk.transitions += 1  # each retry is billed as a transition
                continue
            catch = _matching(state.get("Catch", []), error)
            if catch is None:
                raise WalkError(f"{where}: {error} is neither retried nor caught (the execution would fail)")
            catcher = state["Catch"][catch]
            failure = {"Error": error, "Cause": f"{error}: the {step} step failed (modeled)"}
            return catcher["Next"], set_path(data, catcher.get("ResultPath", "$"), failure)

    def map(self, state: dict[str, Any], data: Any, where: str) -> tuple[str, Any]:
        processor = state["ItemProcessor"]
        if processor.get("ProcessorConfig", {}).get("Mode", "INLINE") != "INLINE":
            raise WalkError(f"{where}: the walker models Inline Map states only")
        items = get_path(data, state["ItemsPath"], where)
        if not isinstance(items, list):
            raise WalkError(f"{where}: ItemsPath {state['ItemsPath']} is not a list")
        self.walk.events += 2  # MapStateEntered, MapStateStarted
        results = []
        for index, value in enumerate(items):
            self.walk.events += 2  # MapIterationStarted, MapIterationSucceeded | -Failed
            self.context["Map"] = {"Item": {"Index": index, "Value": value}}
            item = self.parameters(state["ItemSelector"], data, where)
            status, output = self.states(processor["States"], processor["StartAt"], item, f"{where}/")
            if status == "FAILED":  # an Inline Map fails with its first failed iteration (no Catch on it)
                self.walk.events += 1  # MapStateFailed
                return "FAILED", output
            results.append(output)
        self.context.pop("Map", None)
        self.walk.events += 2  # MapStateSucceeded, MapStateExited
        return "SUCCEEDED", set_path(data, state.get("ResultPath", "$"), results)

    def choose(self, state: dict[str, Any], data: Any, where: str) -> str:
        for rule in state["Choices"]:
            if _rule_holds(rule, data, where):
                return str(rule["Next"])
        if "Default" not in state:
            raise WalkError(f"{where}: no choice matched and no Default (States.NoChoiceMatched)")
        return str(state["Default"])

    def parameters(self, template: Any, data: Any, where: str) -> Any:
        if isinstance(template, dict):
            out: dict[str, Any] = {}
            for key, value in template.items():
                if key.endswith(".$"):
                    out[key[:-2]] = self.expression(str(value), data, where)
                else:
                    out[key] = self.parameters(value, data, where)
            return out
        if isinstance(template, list):
            return [self.parameters(v, data, where) for v in template]
        return template

    def expression(self, text: str, data: Any, where: str) -> Any:
        if text.startswith("$$."):
            return get_path(self.context, "$" + text[2:], where)
        if text.startswith("$"):
            return get_path(data, text, where)
        call = _INTRINSIC.match(text)
        if call is None:
            raise WalkError(f"{where}: cannot evaluate {text!r}")
        args = [self.argument(a, data, where) for a in _split_args(call.group(2))]
        if call.group(1) == "MathAdd":
            return int(args[0]) + int(args[1])
        if call.group(1) == "Format":
            template, *values = args
            return str(template).format(*values)
        raise WalkError(f"{where}: the walker does not model States.{call.group(1)}")

    def argument(self, text: str, data: Any, where: str) -> Any:
        text = text.strip()
        if text.startswith("'") and text.endswith("'"):
            return text[1:-1]
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        return self.expression(text, data, where)


def _matching(rules: list[dict[str, Any]], error: str) -> int | None:
    for index, rule in enumerate(rules):
        names = rule["ErrorEquals"]
        if (
            error in names
            or "States.ALL" in names
            or ("States.TaskFailed" in names and not error.startswith("States."))
        ):
            return index
    return None


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "BooleanEquals": lambda a, b: isinstance(a, bool) and a is b,
    "StringEquals": lambda a, b: isinstance(a, str) and a == b,
    "NumericEquals": lambda a, b: _number(a) and a == b,
    "NumericGreaterThanEquals": lambda a, b: _number(a) and a >= b,
    "NumericGreaterThan": lambda a, b: _number(a) and a > b,
    "NumericLessThan": lambda a, b: _number(a) and a < b,
    "NumericLessThanEquals": lambda a, b: _number(a) and a <= b,
}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _rule_holds(rule: dict[str, Any], data: Any, where: str) -> bool:
    operators = set(rule) - {"Variable", "Next"}
    if "Variable" not in rule or len(operators) != 1 or not operators <= set(_COMPARISONS):
        raise WalkError(f"{where}: the walker does not model the choice rule {sorted(operators)}")
    (operator,) = operators
    return _COMPARISONS[operator](get_path(data, rule["Variable"], where), rule[operator])


def _split_args(text: str) -> list[str]:
    args, depth, quoted, current = [], 0, False, ""
    for char in text:
        if char == "'" and depth == 0:
            quoted = not quoted
        if char == "," and not quoted and depth == 0:
            args.append(current)
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0) if not quoted else 0
        current += char
    return [*args, current]


def get_path(data: Any, path: str, where: str) -> Any:
    if not _PATH.match(path):
        raise WalkError(f"{where}: the walker models plain $.a.b paths only, not {path!r}")
    value = data
    for key in path.split(".")[1:]:
        if not isinstance(value, dict) or key not in value:
            raise WalkError(f"{where}: {path} is missing from the state (States.Runtime)")
        value = value[key]
    return value


def set_path(data: Any, path: str | None, value: Any) -> Any:
    """`data` with `value` at `path` (a new dict along the path; nothing is changed in place)."""
    if path is None:
        return data
    if not _PATH.match(path):
        raise WalkError(f"the walker models plain $.a.b result paths only, not {path!r}")
    return _with(data, path.split(".")[1:], value)


def _with(data: Any, keys: list[str], value: Any) -> Any:
    if not keys:
        return value
    out = dict(data) if isinstance(data, dict) else {}
    out[keys[0]] = _with(out.get(keys[0]), keys[1:], value)
    return out


# ------------------------------------------------------------------------------------------- the formulas
@dataclass(frozen=True)
class Formula:
    """An image's path: transitions = a + b*k and history events = c + d*k per image (k: polls), plus the
    execution's own (EXECUTION_TRANSITIONS, EXECUTION_EVENTS: ParseEvent and the Map state)."""

    label: str
    backend: str
    a: int
    b: int
    c: int
    d: int
    deduplicated: bool = False
    failing: tuple[str, ...] = ()
    error: str = "PermanentStepError"
    timeout: bool = False  # k = max_polls polls without a result

    def scenario(self, images: int, polls: int) -> Scenario:
        return Scenario(
            self.backend,
            images=images,
            deduplicated=self.deduplicated,
            polls=polls + 1 if self.timeout else polls,
            failing=self.failing,
            error=self.error,
        )

    def transitions(self, images: int, polls: int) -> int:
        return EXECUTION_TRANSITIONS + images * (self.a + self.b * polls)

    def events(self, images: int, polls: int) -> int:
        return EXECUTION_EVENTS + images * (self.c + self.d * polls)

    def text(self, a: int, b: int) -> str:
        return f"{a} + {b}·k" if b else str(a)


EXECUTION_TRANSITIONS = 2  # ParseEvent, ScanImages
EXECUTION_EVENTS = 11  # Execution 2 + ParseEvent 5 + Map 4
RETRIES = retry_default("max_attempts")
FORMULAS: tuple[Formula, ...] = (
    Formula("qscanner: scanned", "qscanner", 4, 0, 16, 0),
    Formula("qscanner: deduplicated", "qscanner", 3, 0, 11, 0, deduplicated=True),
    Formula("qscanner: scan fails (permanent)", "qscanner", 7, 0, 28, 0, failing=("scan_qscanner",)),
    Formula(
        f"qscanner: scan fails after {RETRIES} retries",
        "qscanner",
        7 + RETRIES,
        0,
        28 + 3 * RETRIES,
        0,
        failing=("scan_qscanner",),
        error="TransientStepError",
    ),
    Formula("qualys-api: scanned after k polls", "qualys-api", 7, 4, 28, 11),
    Formula("qualys-api: deduplicated", "qualys-api", 3, 0, 11, 0, deduplicated=True),
    Formula("qualys-api: poll timeout (k = max_polls)", "qualys-api", 10, 4, 37, 11, timeout=True),
)
EVENT_FAILURE = Scenario("qscanner", images=0, failing=("parse",))  # ParseEvent -> NotifyEventFailure -> Fail
EVENT_FAILURE_TRANSITIONS = 3


@dataclass(frozen=True)
class Deployment:
    label: str
    scenario: Scenario


DEPLOYMENTS: tuple[Deployment, ...] = (
    Deployment("qscanner: 3 new images", Scenario("qscanner", images=3)),
    Deployment(
        "qscanner: the same 3 redeployed (deduplicated)", Scenario("qscanner", images=3, deduplicated=True)
    ),
    Deployment("qualys-api: 3 new images, 3 polls each", Scenario("qualys-api", images=3, polls=3)),
    Deployment(
        "qualys-api: the same 3 redeployed (deduplicated)",
        Scenario("qualys-api", images=3, deduplicated=True),
    ),
)


def per_image(formula: Formula, polls: int = 0) -> Walk:
    """The walk of one image on the formula's path at the module's defaults (polls: k)."""
    if formula.timeout:
        polls = int(variable_default("max_polls"))
    return walk(definition_for(formula.backend), formula.scenario(1, polls))


# ------------------------------------------------------------------------------------------- limits
def images_within_history(formula: Formula, polls: int) -> int:
    """The most images whose execution history stays within HISTORY_LIMIT_EVENTS."""
    return (HISTORY_LIMIT_EVENTS - EXECUTION_EVENTS) // (formula.c + formula.d * polls)


def polls_within_history(formula: Formula, images: int) -> int:
    """The most polls per image for which `images` images stay within HISTORY_LIMIT_EVENTS."""
    return ((HISTORY_LIMIT_EVENTS - EXECUTION_EVENTS) // images - formula.c) // formula.d


def largest_payload(backend: str, images: int, polls: int = 1) -> Walk:
    return walk(definition_for(backend), Scenario(backend, images=images, polls=polls))


@functools.cache
def images_within_payload(backend: str) -> int:
    """The most images whose largest state (the Map's collected outcomes) stays within PAYLOAD_LIMIT_BYTES:
    estimated from the growth between one and two images, then settled by walking the neighbours."""
    one, two = largest_payload(backend, 1).largest_payload, largest_payload(backend, 2).largest_payload
    images = (PAYLOAD_LIMIT_BYTES - (2 * one - two)) // (two - one)
    while largest_payload(backend, images).largest_payload > PAYLOAD_LIMIT_BYTES:
        images -= 1
    while largest_payload(backend, images + 1).largest_payload <= PAYLOAD_LIMIT_BYTES:
        images += 1
    return images


@dataclass(frozen=True)
class Limit:
    name: str
    limit: str
    figure: str


def limits() -> list[Limit]:
    concurrency = int(variable_default("max_concurrency"))
    interval = int(variable_default("poll_interval_seconds"))
    max_polls = int(variable_default("max_polls"))
    scan_timeout = int(variable_default("scan_timeout_seconds"))
    execution_timeout = int(variable_default("execution_timeout_seconds"))
    _, concurrency_high = variable_bounds("max_concurrency")
    _, polls_high = variable_bounds("max_polls")
    interval_low, _ = variable_bounds("poll_interval_seconds")
    _, scan_high = variable_bounds("scan_timeout_seconds")
    _, task_high = variable_bounds("task_timeout_seconds")
    timeout_formula = _formula("qualys-api: poll timeout (k = max_polls)")
    most = max_images()
    ten = largest_payload("qualys-api", 10)
    payload_bound = {backend: images_within_payload(backend) for backend in ("qscanner", "qualys-api")}
    default_bound = images_within_history(timeout_formula, max_polls)
    polls_for_most = polls_within_history(timeout_formula, most)
    polls_for_ten = polls_within_history(timeout_formula, 10)
    images_at_high = images_within_history(timeout_formula, polls_high)
    scan_margin, lease_cap, lease_extra = lease_terms()
    polls_per_minute = concurrency * 60 / interval
    calls_per_minute = polls_per_minute * IMAGES_CALLS_PER_POLL
    worst_calls_per_minute = concurrency_high * 60 / interval_low * IMAGES_CALLS_PER_POLL
    batches = execution_timeout // (max_polls * interval)
    return [
        Limit(
            "state payload",
            f"{PAYLOAD_LIMIT_BYTES:,} bytes",
            f"the largest state is the {ten.largest_payload_at} (the parsed images and each item's small "
            f"outcome): {ten.largest_payload:,} bytes for 10 qualys-api images "
            f"({ten.largest_payload / PAYLOAD_LIMIT_BYTES:.0%}); at most {payload_bound['qualys-api']} "
            f"qualys-api or {payload_bound['qscanner']} qscanner images fit, "
            + (
                f"more than MAX_IMAGES = {most}"
                if min(payload_bound.values()) >= most
                else f"not MAX_IMAGES = {most} (States.DataLimitExceeded fails the execution; no Catch takes it)"
            ),
        ),
        Limit(
            "execution history",
            f"{HISTORY_LIMIT_EVENTS:,} events",
            f"qualys-api images that all time out: {timeout_formula.c + timeout_formula.d * max_polls} events "
            f"each at max_polls = {max_polls}, so at most {default_bound} images per execution "
            f"({timeout_formula.events(most, max_polls):,} events for {most}); {most} images stay "
            f"within it up to max_polls = {polls_for_most}, 10 images up to {polls_for_ten}; at max_polls = "
            f"{polls_high} only {images_at_high} images fit. qscanner: "
            f"{_formula('qscanner: scanned').events(most, 0):,} events for {most} images",
        ),
        Limit(
            "Map concurrency",
            f"{INLINE_MAP_CONCURRENCY} concurrent Inline Map iterations",
            f"max_concurrency is validated to at most {concurrency_high} (default {concurrency}); Qualys takes "
            f"about {QUALYS_CONCURRENT_CALLS} concurrent calls, so qualys-api above "
            f"{QUALYS_CONCURRENT_CALLS} can be throttled",
        ),
        Limit(
            "Lambda duration",
            f"{LAMBDA_MAX_SECONDS} s",
            f"scan_timeout_seconds (the function timeout) is validated to at most {scan_high} s, "
            f"task_timeout_seconds to {task_high} s; qscanner gets scan_timeout_seconds - {scan_margin} s",
        ),
        Limit(
            "execution timeout",
            f"execution_timeout_seconds (default {execution_timeout:,} s)",
            f"images run max_concurrency at a time: with every image polled to max_polls ({max_polls} * "
            f"{interval} s) only {batches} rounds of {concurrency} = {batches * concurrency} images finish in "
            f"time (qscanner scans that each take scan_timeout_seconds = {scan_timeout} s: "
            f"{execution_timeout // scan_timeout * concurrency})",
        ),
        Limit(
            "claim lease",
            "the claim must outlive the polling",
            f"lease = scan_timeout_seconds - {scan_margin} + min({lease_cap}, max_polls * "
            f"poll_interval_seconds + {lease_extra}): polling longer than scan_timeout_seconds + {lease_cap - scan_margin}"
            f" s ({scan_timeout + lease_cap - scan_margin:,} s at the default scan timeout) outlives the claim",
        ),
        Limit(
            "Qualys images/**",
            f"{QUALYS_IMAGES_PER_MINUTE:,} calls per 60 s",
            f"one execution polls at most max_concurrency * 60 / poll_interval_seconds = {polls_per_minute:g} "
            f"times a minute (≤ {IMAGES_CALLS_PER_POLL} calls each): ≤ {calls_per_minute:g} calls/min, "
            f"{math.floor(QUALYS_IMAGES_PER_MINUTE / calls_per_minute)} concurrent executions at the "
            f"defaults; at max_concurrency = {concurrency_high} and poll_interval_seconds = {interval_low}: "
            f"{worst_calls_per_minute:,.0f} calls/min, "
            f"{math.floor(QUALYS_IMAGES_PER_MINUTE / worst_calls_per_minute)} execution",
        ),
        Limit(
            "Qualys registry/**",
            f"{QUALYS_REGISTRY_PER_MINUTE:,} calls per 60 s",
            f"{REGISTRY_CALLS_PER_IMAGE} calls per new image (ensure_registry, schedule_scan): "
            f"{QUALYS_REGISTRY_PER_MINUTE // REGISTRY_CALLS_PER_IMAGE} new images a minute across all "
            f"executions (a registry Qualys does not know yet adds a create call)",
        ),
    ]


def _formula(label: str) -> Formula:
    (found,) = [f for f in FORMULAS if f.label == label]
    return found


# ------------------------------------------------------------------------------------------- the doc block
def cost_section() -> str:
    """The generated block of docs/fargate.md: every figure computed by walking the rendered workflow."""
    polls_shown = 3
    memory = int(variable_default("memory_size"))
    lines = [
        BEGIN,
        "",
        f"Per image (k: polls until Qualys is done; the execution adds {EXECUTION_TRANSITIONS} transitions and "
        f"{EXECUTION_EVENTS} history events; module defaults, max_polls = {variable_default('max_polls')}, "
        f"retry.max_attempts = {RETRIES}):",
        "",
        f"| path | transitions | history events | transitions at k = {polls_shown} |",
        "|------|-------------|----------------|-------------------|",
    ]
    for formula in FORMULAS:
        shown = per_image(formula, polls_shown)
        lines.append(
            f"| {formula.label} | {formula.text(formula.a, formula.b)} | {formula.text(formula.c, formula.d)} "
            f"| {shown.transitions - EXECUTION_TRANSITIONS} |"
        )
    event_failure = walk(definition_for("qscanner"), EVENT_FAILURE)
    lines += [
        f"| the event fails (ParseEvent → NotifyEventFailure → EventFailed) | {event_failure.transitions} "
        f"(whole execution) | {event_failure.events} (whole execution) | |",
        "",
        f"Per 1,000 deployments at list prices (Lambda: {memory} MB, x86; scan_qscanner "
        f"{STEP_SECONDS['scan_qscanner']:g} s, every other step {OTHER_STEP_SECONDS:g} s):",
        "",
        "| deployment | transitions | Lambda requests | Lambda GB-s | Step Functions | Lambda | total |",
        "|------------|-------------|-----------------|-------------|----------------|--------|-------|",
    ]
    for deployment in DEPLOYMENTS:
        done = walk(definition_for(deployment.scenario.backend), deployment.scenario)
        states, lambdas = done.cost(memory)
        lines.append(
            f"| {deployment.label} | {done.transitions} | {done.lambda_requests()} | "
            f"{done.gb_seconds(memory):g} | ${states * 1000:.3f} | ${lambdas * 1000:.3f} | "
            f"${(states + lambdas) * 1000:.3f} |"
        )
    lines += ["", "| limit | AWS / Qualys | calculated |", "|-------|--------------|------------|"]
    lines += [f"| {limit.name} | {limit.limit} | {limit.figure} |" for limit in limits()]
    return "\n".join([*lines, "", END])


def doc_block(text: str) -> str:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise WalkError(f"{DOC.relative_to(REPO_ROOT)}: the generated cost block markers are missing")
    return text[start : end + len(END)]


def write_doc() -> None:
    text = DOC.read_text()
    DOC.write_text(text.replace(doc_block(text), cost_section()))


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.harness.fargate_cost --write")
    write_doc()
