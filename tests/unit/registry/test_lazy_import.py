"""The ECR handler's import path loads neither `requests` nor the registry package: both load on first use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parents[3] / "shared"


def _loaded_after(code: str) -> set[str]:
    program = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(SHARED)}
    out = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_importing_the_ecr_lookups_loads_no_registry_client() -> None:
    loaded = _loaded_after("import qscan.aws.ecr, qscan.aws.queue_handler")
    assert "qscan.aws.ecr" in loaded
    assert not {m for m in loaded if m.startswith("qscan.registry") or m.split(".")[0] == "requests"}
