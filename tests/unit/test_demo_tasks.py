"""scripts/demo_tasks.py: one report line per Task invocation, the handler's error passed on to the runtime."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace
from typing import Any

import pytest

from scripts.demo_tasks import Reporter

DIGEST = "sha256:" + "ab" * 32
IMAGE = {"target": {"image": f"r/app@{DIGEST}", "digest": DIGEST}, "containers": ["app"]}


class StepFailed(Exception):
    pass


def handler(result: Any = None, error: Exception | None = None) -> Any:
    def lambda_handler(event: Any, context: Any) -> Any:
        if error is not None:
            raise error
        return result

    return SimpleNamespace(lambda_handler=lambda_handler)


def test_a_step_result_is_reported_short() -> None:
    report = io.StringIO()
    parsed = {"context": {"owner": "x1", "account": "123456789012"}, "images": [IMAGE]}
    answer = Reporter(handler(parsed), report)({"step": "parse", "execution": "x1", "event": {}}, None)
    assert answer is parsed  # the workflow gets the handler's whole answer
    (line,) = [json.loads(text) for text in report.getvalue().splitlines()]
    assert (line["step"], line["execution"]) == ("parse", "x1")
    assert line["result"] == {
        "images": [{"image": f"r/app@{DIGEST}", "digest": DIGEST, "containers": ["app"]}]
    }
    assert isinstance(line["duration_ms"], int) and "error" not in line


def test_a_step_error_is_reported_and_raised_for_the_runtime() -> None:
    report = io.StringIO()
    event = {"step": "scan_qscanner", "context": {"owner": "x2"}, "image": IMAGE, "claim": {"claimed": True}}
    with pytest.raises(StepFailed, match="exit 40"):
        Reporter(handler(error=StepFailed("exit 40")), report)(event, None)
    (line,) = [json.loads(text) for text in report.getvalue().splitlines()]
    assert (line["step"], line["execution"], line["digest"]) == ("scan_qscanner", "x2", DIGEST)
    assert line["error"] == {"type": "StepFailed", "message": "exit 40"} and "result" not in line


def test_only_summary_keys_of_a_scan_are_kept() -> None:
    report = io.StringIO()
    scan = {"status": "success", "counts": {"high": 1}, "notified": True, "result_location": "s3://b/k"}
    Reporter(handler(scan), report)(
        {"step": "scan_qscanner", "context": {"owner": "x3"}, "image": IMAGE}, None
    )
    assert json.loads(report.getvalue())["result"] == {
        "status": "success",
        "counts": {"high": 1},
        "notified": True,
    }
