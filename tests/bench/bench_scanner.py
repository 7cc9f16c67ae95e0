"""qscanner runner overhead per scan: the runner driving the fake qscanner next to the same fake process started
bare (subprocess.run with the same argv and environment). The difference is what the runner adds: scan dir and
TMPDIR, stale-dir sweep and cache pruning, process group, log capture and redaction, SARIF/ScanResult parsing,
cleanup. Measured for a scanner that exits at once and for one that runs 0.3 s (where a sleep-polling
`Popen.wait(timeout=...)` notices the exit up to 50 ms late). Medians of several scans.

Also: how late each way of waiting notices a child's exit (`/bin/sleep 0.3` started bare), and what the
pre-scan cache walk costs on a cache of 2,000 files under its cap.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from qscan.scanners.qscanner import QscannerOptions, QscannerRunner
from qscan.scanners.scratch import prune_cache
from qscan.target import ScanTarget

from tests.doubles.fake_qscanner import WRAPPER, fake_env, write_scenarios

RUNS = 15
WAIT_RUNS = 9
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/bench/app:1.0"
SLOW_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/bench/slow:1.0"
FINDINGS = [{"qid": str(1000 + i), "severity": 1 + i % 5, "packageName": f"pkg{i}"} for i in range(200)]
SLEEP_SECONDS = 0.3


def _overhead(runner: QscannerRunner, target: ScanTarget, root: Path, runs: int) -> tuple[float, float]:
    through_runner, bare = [], []
    for _ in range(runs):
        start = time.perf_counter()
        runner.scan(target)
        through_runner.append(time.perf_counter() - start)
        out, tmp = root / "bare-out", root / "bare-tmp"
        out.mkdir(exist_ok=True)
        tmp.mkdir(exist_ok=True)
        argv = runner.build_argv(target, str(out))
        start = time.perf_counter()
        subprocess.run(argv, env=runner.build_env(target, str(tmp)), capture_output=True, check=True)
        bare.append(time.perf_counter() - start)
    return statistics.median(through_runner), statistics.median(bare)


def _polling_wait(proc: subprocess.Popen[bytes]) -> None:
    proc.wait(timeout=600)


def _blocking_wait(proc: subprocess.Popen[bytes]) -> None:
    waiter = threading.Thread(target=proc.wait, daemon=True)
    waiter.start()
    waiter.join(600)


def _noticed_late_ms(wait: Callable[[subprocess.Popen[bytes]], None]) -> float:
    samples = []
    for _ in range(WAIT_RUNS):
        start = time.perf_counter()
        proc = subprocess.Popen(["/bin/sleep", str(SLEEP_SECONDS)])
        wait(proc)
        samples.append((time.perf_counter() - start - SLEEP_SECONDS) * 1000)
    return statistics.median(samples)


def _prune_walk_ms(root: Path) -> float:
    cache = root / "cache"
    for i in range(2000):
        sub = cache / f"{i % 40:02x}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"blob{i}").write_bytes(b"x" * 512)
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        prune_cache(str(cache), 2048 * 1024 * 1024)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def run() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="qscan-bench-") as tmp:
        root = Path(tmp)
        scenarios = write_scenarios(
            root / "scenarios.json",
            {
                IMAGE: {"findings": FINDINGS},
                SLOW_IMAGE: {"findings": FINDINGS, "delay_seconds": SLEEP_SECONDS},
            },
        )
        runner = QscannerRunner(
            QscannerOptions(
                executable=str(WRAPPER),
                pod="US1",
                access_token="bench-token-0123456789",
                work_dir=str(root / "work"),
                cache_dir=str(root / "scanner-cache"),
                extra_env=fake_env(scenarios),
            )
        )
        target = ScanTarget(kind="image", platform="ecr", image=IMAGE)
        slow = ScanTarget(kind="image", platform="ecr", image=SLOW_IMAGE)
        result = runner.scan(target)  # warm caches (page cache, imports)
        wall, base = _overhead(runner, target, root, RUNS)
        slow_wall, slow_base = _overhead(runner, slow, root, max(5, RUNS // 3))
        polling, blocking = _noticed_late_ms(_polling_wait), _noticed_late_ms(_blocking_wait)
        walk = _prune_walk_ms(root)
        leftovers = len(os.listdir(root / "work"))
        return [
            ("findings per scan", str(len(result.findings))),
            ("scan through the runner (median)", f"{wall * 1000:.1f} ms"),
            ("fake qscanner process alone (median)", f"{base * 1000:.1f} ms"),
            ("runner overhead per scan", f"{(wall - base) * 1000:.1f} ms"),
            (
                f"runner overhead per scan, scanner runs {SLEEP_SECONDS:g} s",
                f"{(slow_wall - slow_base) * 1000:.1f} ms",
            ),
            (f"exit noticed after {SLEEP_SECONDS:g} s child: Popen.wait(timeout)", f"+{polling:.1f} ms"),
            (f"exit noticed after {SLEEP_SECONDS:g} s child: blocking wait thread", f"+{blocking:.1f} ms"),
            ("pre-scan cache walk, 2,000 files under the cap", f"{walk:.1f} ms"),
            ("scan dirs left in the work dir", str(leftovers)),
        ]
