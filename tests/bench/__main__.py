"""`make bench`: run every tests/bench/bench_*.py and print its figures.

Each module exposes `run() -> list[tuple[str, str]]` returning (label, figure) rows. Benchmarks measure and
print; they never assert (targets are read by people, not enforced by timing-dependent tests).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main() -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    failed = 0
    for name in names:
        print(f"\n## {name.removeprefix('bench_')}", flush=True)
        start = time.perf_counter()
        try:
            rows = importlib.import_module(f"tests.bench.{name}").run()
        except Exception as exc:  # one broken benchmark must not hide the others
            failed += 1
            print(f"  FAILED: {type(exc).__name__}: {exc}")
            continue
        width = max((len(label) for label, _ in rows), default=0)
        for label, figure in rows:
            print(f"  {label:<{width}}  {figure}")
        print(f"  ({time.perf_counter() - start:.1f}s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
