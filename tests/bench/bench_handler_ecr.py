"""ECR handler start-up cost: its imports against `import boto3` alone (target <= 1.25x), and the full cold start.

`run_for(handler_path)` measures any handlers/aws/<name>/handler.py the same way (bench_handler_lambda uses it).

Each figure is the median of fresh interpreter runs (`-X importtime` is not used: it inflates small modules).
- `import boto3`: the floor every Python Lambda with boto3 pays;
- `handler imports`: the modules handler.py imports (read from its source), boto3 included;
- `handler imports, no bytecode`: the same with the core compiled from source on every start, which is what
  the handler zip (`make package` ships no .pyc; /var/task is read-only) costs on Lambda;
- `cold start`: importing handler.py itself, i.e. imports plus module-level init (settings, logging, clients,
  scanner check) with a local configuration that needs no network (token from QUALYS_* variables, the fake
  qscanner, fake AWS keys).
"""

from __future__ import annotations

import ast
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HANDLER = ROOT / "handlers" / "aws" / "ecr" / "handler.py"
RUNS = 7
TARGET_RATIO = 1.25


def handler_imports(handler: Path = HANDLER) -> list[str]:
    tree = ast.parse(handler.read_text())
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module != "__future__":
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def _env(core: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QSCAN_", "QUALYS_", "AWS_"))}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(core), str(ROOT)]),
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "QSCAN_DEDUPE_TABLE": "qscan-dedupe",
            "QSCAN_RESULTS_BUCKET": "qscan-results-bench",
            "QSCAN_ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:qscan-alerts",
            "QSCANNER_PATH": str(ROOT / "tests" / "doubles" / "bin" / "qscanner"),
            "QUALYS_POD": "US1",
            "QUALYS_ACCESS_TOKEN": "bench-token-not-secret",
        }
    )
    return env


def _median_ms(statement: str, core: Path = ROOT / "shared") -> float:
    code = f"import time\nt = time.perf_counter()\n{statement}\nprint((time.perf_counter() - t) * 1000)"
    samples = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", code], env=_env(core), capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout
        samples.append(float(out.strip().splitlines()[-1]))
    return statistics.median(samples)


def run() -> list[tuple[str, str]]:
    return run_for(HANDLER)


def run_for(handler: Path) -> list[tuple[str, str]]:
    boto = _median_ms("import boto3")
    imports = "\n".join(f"import {name}" for name in handler_imports(handler))
    modules = _median_ms(imports)
    with tempfile.TemporaryDirectory() as tmp:  # a copy of the core without __pycache__, never written
        shutil.copytree(
            ROOT / "shared" / "qscan", Path(tmp) / "qscan", ignore=shutil.ignore_patterns("__pycache__")
        )
        source_only = _median_ms(imports, Path(tmp))
    cold = _median_ms(
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('handler', {str(handler)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)"
    )
    ratio = modules / boto
    verdict = "ok" if ratio <= TARGET_RATIO else f"over the {TARGET_RATIO}x target"
    return [
        ("import boto3 (median ms)", f"{boto:.0f}"),
        ("handler imports (median ms)", f"{modules:.0f}"),
        ("handler imports / import boto3", f"{ratio:.2f}x ({verdict})"),
        (
            "handler imports, core without bytecode (median ms)",
            f"{source_only:.0f} ({source_only / boto:.2f}x)",
        ),
        ("cold start: import + init, no network (median ms)", f"{cold:.0f}"),
    ]


if __name__ == "__main__":
    for label, figure in run():
        print(f"{label}: {figure}")
