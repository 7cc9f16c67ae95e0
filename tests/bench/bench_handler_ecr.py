"""ECR handler start-up cost next to `import boto3` (target <= 1.25x), measured side by side in one run.

`run_for(handler_path)` measures any handlers/aws/<name>/handler.py the same way (bench_handler_lambda uses it).

Every figure is the median of RUNS fresh interpreters per statement, the statements' runs interleaved so that
machine load drifts over all of them alike. The clock runs inside the interpreter around the statement
(interpreter start-up itself is the same for all and left out); `-X importtime` is not used (it inflates small
modules). All run with the handler's environment: PYTHONPATH=shared, fake AWS keys and region, table, bucket and
topic names, the fake qscanner, and the Qualys token in QUALYS_* variables, so nothing needs a network.
- `import boto3`: the floor every Python Lambda with boto3 pays;
- `import handler` (`python -c "import handler"` in the handler's directory, as Lambda imports it): the module
  import, i.e. its imports plus the cold start it runs at import (settings, JSON logging, the boto3 clients the
  handler creates at init, the token, the qscanner runner, pipeline and batch loop; no AWS call is made);
- `handler imports + boto3`: `import boto3` followed by the modules handler.py imports (read from its source),
  without the cold start: what importing the handler costs before it creates anything. boto3 is imported lazily
  by the core (on the first client), so it is named here, or the figure would leave out what every cold start
  pays. This figure is the one the 1.25x target is read against; the cold start's client creation (the DynamoDB
  and S3 clients every invocation uses: kept in the init phase on purpose, where SnapStart and provisioned
  concurrency pay for it ahead of any event) is printed beside it;
- `of which creating the core's @struct classes`: the time `qscan.structs` spends building the core's value
  classes (settings, targets, results, ...) during the handler's imports, clocked in a run of its own. The core
  used `@dataclass` before, which compiles each generated method (about 1 ms per class on this machine's
  CPython 3.11) and was most of the imports' cost above `import boto3`; `@struct` compiles nothing;
- `import handler, core without bytecode`: the same module import with the core compiled from source, which is
  what the handler zip costs on Lambda (`make package` ships no .pyc; /var/task is read-only).
"""

from __future__ import annotations

import ast
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HANDLER = ROOT / "handlers" / "aws" / "ecr" / "handler.py"
RUNS = 21
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


# Appended to `import boto3` in the `structs` case: clocks the time spent creating @struct classes during the
# handler's imports (`qscan.structs._build`, wrapped for this diagnostic only) and reports it as the sample's figure.
STRUCT_CLOCK = """import qscan.structs
figure_ms = 0.0
_build = qscan.structs._build
def _clocked(*args, **kwargs):
    global figure_ms
    start = time.perf_counter()
    try:
        return _build(*args, **kwargs)
    finally:
        figure_ms += (time.perf_counter() - start) * 1000
qscan.structs._build = _clocked
"""


def _sample_ms(statement: str, core: Path, cwd: Path) -> float:
    """ms the statement took in a fresh interpreter, or the `figure_ms` it set (a part it clocked itself)."""
    code = (
        f"import time\nt = time.perf_counter()\n{statement}\n"
        "print(globals().get('figure_ms', (time.perf_counter() - t) * 1000))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=_env(core), capture_output=True, text=True, check=True, cwd=cwd
    ).stdout
    return float(out.strip().splitlines()[-1])


def medians_ms(cases: dict[str, tuple[str, Path, Path]], runs: int = RUNS) -> dict[str, float]:
    """Median ms per case (statement, core dir, cwd), the cases' runs interleaved."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, (statement, core, cwd) in cases.items():
            samples[name].append(_sample_ms(statement, core, cwd))
    return {name: statistics.median(values) for name, values in samples.items()}


def _verdict(ratio: float) -> str:
    return f"{ratio:.2f}x ({'ok' if ratio <= TARGET_RATIO else f'over the {TARGET_RATIO}x target'})"


def run() -> list[tuple[str, str]]:
    return run_for(HANDLER)


def run_for(handler: Path) -> list[tuple[str, str]]:
    shared = ROOT / "shared"
    imports = "\n".join(f"import {name}" for name in handler_imports(handler))
    # The samples run with PYTHONDONTWRITEBYTECODE: bring the core's and the handler's bytecode up to date
    # first, or a fresh clone (or a just-edited module) would be compiled from source in every sample.
    for tree in (shared / "qscan", handler.parent):
        compileall.compile_dir(tree, quiet=1)
    with tempfile.TemporaryDirectory() as tmp:  # a copy of the core without __pycache__, never written
        source_only = Path(tmp)
        shutil.copytree(shared / "qscan", source_only / "qscan", ignore=shutil.ignore_patterns("__pycache__"))
        m = medians_ms(
            {
                "boto3": ("import boto3", shared, handler.parent),
                "handler": ("import handler", shared, handler.parent),
                "imports": (f"import boto3\n{imports}", shared, handler.parent),
                "no_bytecode": ("import handler", source_only, handler.parent),
                "structs": (f"import boto3\n{STRUCT_CLOCK}{imports}", shared, handler.parent),
            }
        )
    boto = m["boto3"]
    return [
        ("import boto3 (median ms)", f"{boto:.0f}"),
        ("import handler: imports + cold start, no network (median ms)", f"{m['handler']:.0f}"),
        ("import handler / import boto3", f"{m['handler'] / boto:.2f}x"),
        ("  of which import boto3 + the handler's imports (median ms)", f"{m['imports']:.0f}"),
        ("  handler imports + boto3 / import boto3", _verdict(m["imports"] / boto)),
        ("    of which creating the core's @struct classes (median ms)", f"{m['structs']:.1f}"),
        (
            "  and the cold start it runs: clients, runner (difference of the medians, ms)",
            f"{m['handler'] - m['imports']:.0f}",
        ),
        (
            "import handler, core without bytecode (median ms)",
            f"{m['no_bytecode']:.0f} ({m['no_bytecode'] / boto:.2f}x)",
        ),
    ]


if __name__ == "__main__":
    for label, figure in run():
        print(f"{label}: {figure}")
