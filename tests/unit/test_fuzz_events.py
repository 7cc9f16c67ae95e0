"""Fuzzing every normalizer: mutated realistic events and random JSON only ever raise typed errors.

Each normalizer gets the example budget of the selected Hypothesis profile (`tests/hypothesis_profiles.py`:
2,000 by default). The `fuzz`-marked variants run the long budget, only under `make fuzz`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qscan.errors import InvalidEvent, UnsupportedEvent
from qscan.events import NORMALIZERS, BatchItem, normalize, normalize_batch
from qscan.target import ScanTarget

from tests.hypothesis_profiles import fuzz_settings, long_fuzz_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"
SECRET = "hunter2-not-for-logs"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def sqs_record(event: Any) -> dict[str, Any]:
    return {
        "messageId": "0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f",
        "body": json.dumps(event),
        "eventSource": "aws:sqs",
    }


_ACTIVITY = load("azure_activitylog_eventhub_batch.json")
# One fuzz target per event source: the normalizer under test and the realistic events it mutates.
BASES: dict[str, list[Any]] = {
    "ecr_push": [
        load(n) for n in ("ecr_push.json", "ecr_push_image_index.json", "ecr_push_untagged_manifest.json")
    ],
    "ecr_cloudtrail": [load("ecr_cloudtrail_put_image.json")],
    "lambda_cloudtrail": [
        load(n)
        for n in (
            "lambda_create_function_zip.json",
            "lambda_create_function_image.json",
            "lambda_update_function_code_image_digest.json",
            "lambda_update_function_configuration_layers.json",
        )
    ],
    "ecs_cloudtrail": [
        load(n) for n in ("ecs_register_task_definition.json", "ecs_run_task.json", "ecs_update_service.json")
    ],
    "reconciler": [load("reconciler_image.json"), load("reconciler_function.json")],
    "eventgrid": [
        load("azure_eventgrid_aci_write.json"),
        load("azure_cloudevents_aca_job_write.json"),
        load("azure_eventgrid_aca_app_write_array.json"),
    ],
    "activity_log": [
        _ACTIVITY,
        _ACTIVITY["records"][1],
        _ACTIVITY["records"][3],
    ],  # bodies and single records
    "sqs": [
        load("sqs_batch_ecr.json"),
        load("sqs_batch_partial_failure.json"),
        sqs_record(load("ecr_push.json")),
        sqs_record(load("lambda_create_function_zip.json")),
    ],
}
# The function each target calls besides `normalize_batch` (which auto-detects, per record).
FUNCTIONS: dict[str, Callable[[Any], list[ScanTarget]]] = {
    **{name: NORMALIZERS[name] for name in BASES if name in NORMALIZERS},
    "activity_log": normalize,  # bodies and records
    "sqs": normalize,  # batches and records
}
# Events whose inner JSON text is fuzzed too: (inner events, wrapper).
INNER: dict[str, tuple[list[Any], Callable[[Any], Any]]] = {
    "sqs": (
        BASES["ecr_push"] + BASES["reconciler"] + BASES["ecs_cloudtrail"][:1] + BASES["ecr_cloudtrail"],
        sqs_record,
    ),
}

NASTY = [
    "",
    " ",
    "-rf",
    "; rm -rf /",
    "$(id)",
    "`id`",
    "a|b&c",
    "../../etc/passwd",
    "\x00",
    "line\nbreak",
    "\u2028",
    "ünïcödé",
    "A" * 5000,
    f"password={SECRET}",
    f"Bearer {SECRET}xxxxxxxx",
    "sha256:" + "A" * 64,
    "sha256:" + "a" * 64,
    "111122223333",
    "us-east-1",
    "PUSH",
    "SUCCESS",
    "Zip",
    "Image",
    "nginx:latest",
    "arn:aws:lambda:us-east-1:111122223333:function:f",
    "arn:aws:lambda:us-east-1:111122223333:layer:l:1",
    "Microsoft.App/containerApps/write",
    "Microsoft.Resources.ResourceWriteSuccess",
    "/subscriptions/8f2c6a1e-3b5d-4e7f-9a0c-2d4e6f8a0b1c/resourceGroups/rg/providers/Microsoft.App/jobs/j",
    "AWS API Call via CloudTrail",
    "qscan.reconciler",
    "{}",
    "[]",
    '{"source": "aws.ecr", "detail-type": "ECR Image Action", "detail": {}}',
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(NASTY),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=8,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            found.extend(_paths(value, (*prefix, index)))
    return found


def _swap_type(value: Any) -> Any:
    if isinstance(value, str):
        return [value] if len(value) % 2 else {"value": value}
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    if isinstance(value, dict):
        return list(value.values())
    return 0


OPS = ("delete", "replace", "nasty", "swap", "null", "wrap", "dup", "reencode")


def _prepared(bases: list[Any]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Each base as JSON text (a fast deep copy) with its paths (the first mutation needs no walk)."""
    return [(json.dumps(base), _paths(base)) for base in bases]


@st.composite
def mutated(draw: st.DrawFn, prepared: list[tuple[str, list[tuple[Any, ...]]]]) -> Any:
    text, base_paths = draw(st.sampled_from(prepared))
    doc = json.loads(text)
    for step in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(base_paths if step == 0 else _paths(doc)))
        op = draw(st.sampled_from(OPS))
        if not path:
            doc = draw(JSON) if op in ("replace", "nasty") else _swap_type(doc) if op == "swap" else doc
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        value = parent[key]
        if op == "delete":
            if isinstance(parent, dict):
                del parent[key]
            else:
                parent.pop(key)
        elif op == "replace":
            parent[key] = draw(JSON)
        elif op == "nasty":
            parent[key] = draw(st.sampled_from(NASTY))
        elif op == "swap":
            parent[key] = _swap_type(value)
        elif op == "null":
            parent[key] = None
        elif op == "wrap":
            parent[key] = [value, value] if draw(st.booleans()) else {"nested": value}
        elif op == "dup" and isinstance(parent, list):
            parent.append(copy.deepcopy(value))
        elif op == "reencode" and isinstance(value, str):
            try:  # a JSON text inside the event (an SQS body): mutate inside it
                inner = json.loads(value)
            except ValueError:
                continue
            if isinstance(inner, dict | list) and inner:
                parent[key] = json.dumps(draw(mutated(_prepared([inner]))))
    return doc


def events_for(name: str) -> st.SearchStrategy[Any]:
    strategies = [mutated(_prepared(BASES[name])), JSON]
    if name in INNER:
        inner, wrap = INNER[name]
        strategies.append(mutated(_prepared(inner)).map(wrap))
    return st.one_of(*strategies)


def check_error(exc: BaseException) -> None:
    assert isinstance(exc, InvalidEvent | UnsupportedEvent), f"untyped error {type(exc).__name__}: {exc}"
    reason = exc.reason
    assert isinstance(reason, str) and reason
    assert "\n" not in reason and "\r" not in reason and "\u2028" not in reason
    assert len(reason) <= 300
    assert SECRET not in reason


def check_targets(targets: Any) -> None:
    assert isinstance(targets, list) and targets
    for target in targets:
        assert isinstance(target, ScanTarget)
        if target.lookup is None:
            assert target.dedupe_key is not None
        if target.image is not None:
            assert not set(target.image) & set(";|&$`<>()'\"\\ \n")
            assert not target.image.startswith("-")
        json.dumps(target.to_dict(), allow_nan=False)


def exercise(name: str, event: Any) -> None:
    try:
        targets = FUNCTIONS[name](event)
    except (InvalidEvent, UnsupportedEvent) as exc:
        check_error(exc)
    else:
        check_targets(targets)
    items = normalize_batch(event)  # auto-detection, per record; never raises
    assert items and all(isinstance(item, BatchItem) for item in items)
    for item in items:
        if item.error is None:
            check_targets(list(item.targets))
        else:
            check_error(item.error)


NAMES = sorted(BASES)
PREPARED = {name: _prepared(bases) for name, bases in BASES.items()}


@pytest.mark.parametrize("name", NAMES)
def test_fuzz_normalizer(name: str) -> None:
    calls = 0

    @fuzz_settings()
    @given(events_for(name))
    def run(event: Any) -> None:
        nonlocal calls
        calls += 1
        exercise(name, event)

    run()
    assert calls >= fuzz_settings().max_examples  # the budget really ran (2,000 under the default profile)


@pytest.mark.fuzz
@pytest.mark.parametrize("name", NAMES)
def test_fuzz_normalizer_long(name: str) -> None:
    @long_fuzz_settings()
    @given(events_for(name))
    def run(event: Any) -> None:
        exercise(name, event)

    run()


def test_mutations_reach_the_normalizers() -> None:
    """Guard against a fuzzer that only ever produces junk the dispatcher rejects up front."""
    outcomes: dict[str, set[str]] = {name: set() for name in NAMES}

    @settings(fuzz_settings(), max_examples=300)
    @given(st.sampled_from(NAMES), st.data())
    def run(name: str, data: st.DataObject) -> None:
        event = data.draw(mutated(PREPARED[name]))
        try:
            normalize(event)
            outcomes[name].add("ok")
        except InvalidEvent:
            outcomes[name].add("invalid")
        except UnsupportedEvent:
            outcomes[name].add("unsupported")

    run()
    reached = sum(len(v) for v in outcomes.values())
    assert reached >= len(NAMES) * 2, outcomes
