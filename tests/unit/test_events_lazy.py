"""An AWS handler's import loads no Azure normalizer: `qscan.events` imports a source's module on first use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import qscan.events
from qscan.events import ecr, reconciler

SHARED = Path(__file__).resolve().parents[2] / "shared"
AZURE_MODULES = (
    "qscan.events.activitylog",
    "qscan.events.eventgrid",
    "qscan.events.arm",
    "qscan.notify.eventgrid",
)


def _loaded_after(statement: str) -> set[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(SHARED)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


@pytest.mark.parametrize("module", ["qscan.aws.queue_handler", "qscan.aws.ecr", "qscan.config"])
def test_aws_handler_imports_load_no_azure_normalizer(module: str) -> None:
    loaded = _loaded_after(f"import {module}")
    assert module in loaded
    assert loaded.isdisjoint(AZURE_MODULES), sorted(loaded.intersection(AZURE_MODULES))


def test_a_normalizer_module_loads_on_first_use() -> None:
    loaded = _loaded_after(
        "from qscan.events import normalize_batch\n"
        "assert 'qscan.events.eventgrid' not in sys.modules\n"
        "normalize_batch({'eventType': 'x', 'id': 'e1'})"
    )
    assert "qscan.events.eventgrid" in loaded


def test_lazy_public_names_resolve_to_the_module_functions() -> None:
    assert qscan.events.normalize_ecr_push is ecr.normalize_ecr_push
    assert qscan.events.scan_request_event is reconciler.scan_request_event
    for name in qscan.events.__all__:
        assert callable(getattr(qscan.events, name)) or name == "NORMALIZERS"
    with pytest.raises(AttributeError):
        _ = qscan.events.no_such_name  # type: ignore[attr-defined]
