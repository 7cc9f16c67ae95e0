"""qscanner runner overhead per scan: the runner driving the fake qscanner at zero delay, next to the same fake
process started bare (subprocess.run with the same argv). The difference is what the runner adds: output dir,
process group, log capture and redaction, SARIF/ScanResult parsing, cleanup. Medians of several scans."""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from qscan.scanners.qscanner import QscannerOptions, QscannerRunner
from qscan.target import ScanTarget

from tests.doubles.fake_qscanner import WRAPPER, fake_env, write_scenarios

RUNS = 15
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/bench/app:1.0"
FINDINGS = [{"qid": str(1000 + i), "severity": 1 + i % 5, "packageName": f"pkg{i}"} for i in range(200)]


def run() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="qscan-bench-") as tmp:
        root = Path(tmp)
        scenarios = write_scenarios(root / "scenarios.json", {IMAGE: {"findings": FINDINGS}})
        env = fake_env(scenarios)
        runner = QscannerRunner(
            QscannerOptions(
                executable=str(WRAPPER),
                pod="US1",
                access_token="bench-token-0123456789",
                work_dir=str(root / "work"),
                extra_env=env,
            )
        )
        target = ScanTarget(kind="image", platform="ecr", image=IMAGE)
        runner.scan(target)  # warm caches (page cache, imports)
        through_runner, bare = [], []
        for _ in range(RUNS):
            start = time.perf_counter()
            result = runner.scan(target)
            through_runner.append(time.perf_counter() - start)
            out = root / "bare"
            out.mkdir(exist_ok=True)
            argv = runner.build_argv(target, str(out))
            start = time.perf_counter()
            subprocess.run(argv, env=runner.build_env(), capture_output=True, check=True)
            bare.append(time.perf_counter() - start)
        wall, base = statistics.median(through_runner), statistics.median(bare)
        return [
            ("findings per scan", str(len(result.findings))),
            ("scan through the runner (median)", f"{wall * 1000:.1f} ms"),
            ("fake qscanner process alone (median)", f"{base * 1000:.1f} ms"),
            ("runner overhead per scan", f"{(wall - base) * 1000:.1f} ms"),
        ]
