"""Artifact sizes from `make package` (target: AWS handler zips <= 1 MiB). Handler import times are measured by
bench_handler_*.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run() -> list[tuple[str, str]]:
    subprocess.run([sys.executable, "scripts/package.py"], cwd=REPO, check=True, capture_output=True)
    artifacts = json.loads((REPO / "dist" / "manifest.json").read_text())["artifacts"]
    rows = []
    for name, entry in sorted(artifacts.items()):
        mark = ""
        if name.startswith("aws-"):
            mark = " (<= 1 MiB)" if entry["size"] <= 1 << 20 else " (OVER 1 MiB)"
        rows.append((f"size {name}", f"{entry['size'] / 1024:.0f} KiB{mark}"))
    return rows
