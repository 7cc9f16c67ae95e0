"""Artifact sizes (target: AWS handler zips <= 1 MiB) and handler import time next to `import boto3` alone
(target: <= 1.25x), each import in a fresh interpreter, median of several runs."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNS = 7


def _import_seconds(setup: str, statement: str) -> float:
    code = f"import sys, time\n{setup}\nt = time.perf_counter()\n{statement}\nprint(time.perf_counter() - t)"
    samples = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
        )
        samples.append(float(out.stdout.strip()))
    return statistics.median(samples)


def run() -> list[tuple[str, str]]:
    subprocess.run([sys.executable, "scripts/package.py"], cwd=REPO, check=True, capture_output=True)
    artifacts = json.loads((REPO / "dist" / "manifest.json").read_text())["artifacts"]
    rows = []
    for name, entry in sorted(artifacts.items()):
        mark = (
            ""
            if not name.startswith("aws-")
            else (" (<= 1 MiB)" if entry["size"] <= 1 << 20 else " (OVER 1 MiB)")
        )
        rows.append((f"size {name}", f"{entry['size'] / 1024:.0f} KiB{mark}"))
    boto3 = _import_seconds("", "import boto3")
    rows.append(("import boto3 alone", f"{boto3 * 1000:.0f} ms"))
    for handler_dir in sorted((REPO / "handlers" / "aws").glob("*/handler.py")):
        setup = f"sys.path.insert(0, {str(handler_dir.parent)!r})"
        seconds = _import_seconds(setup, "import handler")
        ratio = seconds / boto3
        rows.append(
            (f"import handler aws-{handler_dir.parent.name}", f"{seconds * 1000:.0f} ms ({ratio:.2f}x boto3)")
        )
    return rows
