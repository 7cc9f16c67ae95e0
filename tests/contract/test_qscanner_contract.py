"""What every qscanner (the fake double and the real binary) must do for the runner.

The "real" variant runs when QSCANNER_PATH names an executable and QUALYS_POD + QUALYS_ACCESS_TOKEN are set
(optional: QSCAN_CONTRACT_IMAGE, default a small public image); otherwise it is skipped with the reason, shown
in pytest's summary (`-ra`) and printed to stderr.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from qscan.results.model import COMPLETE_STATUSES, STATUSES, SeverityCounts
from qscan.scanners.qscanner import QscannerOptions, QscannerRunner
from qscan.target import ScanTarget

from tests.doubles.fake_qscanner import WRAPPER, fake_env, write_scenarios

pytestmark = pytest.mark.contract

FAKE_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/contract/app:1.0"
DEFAULT_REAL_IMAGE = "public.ecr.aws/docker/library/alpine:3.19"
MISSING_IMAGE = "public.ecr.aws/qscan-contract/does-not-exist-7f3a:never"


@dataclass
class Backend:
    runner: QscannerRunner
    image: str
    token: str
    real: bool


def _skip(reason: str) -> None:
    print(f"\n[contract] real qscanner skipped: {reason}", file=sys.stderr)
    pytest.skip(reason)


@pytest.fixture(params=["fake", "real"])
def backend(request: Any, tmp_path: Path) -> Backend:
    if request.param == "fake":
        findings = [
            {"qid": "9001", "severity": 5, "cves": ["CVE-2024-9001"], "packageName": "openssl"},
            {"qid": "9002", "severity": 2, "severity_in": "rule"},
        ]
        scenarios = write_scenarios(tmp_path / "scenarios.json", {FAKE_IMAGE: {"findings": findings}})
        token = "contract-fake-token-0123456789"
        options = QscannerOptions(
            executable=str(WRAPPER),
            pod="US1",
            access_token=token,
            timeout_seconds=60,
            work_dir=str(tmp_path / "work"),
            extra_env=fake_env(scenarios),
        )
        return Backend(QscannerRunner(options), FAKE_IMAGE, token, real=False)
    path, pod, token = (os.environ.get(k, "") for k in ("QSCANNER_PATH", "QUALYS_POD", "QUALYS_ACCESS_TOKEN"))
    missing = [
        k for k, v in (("QSCANNER_PATH", path), ("QUALYS_POD", pod), ("QUALYS_ACCESS_TOKEN", token)) if not v
    ]
    if missing:
        _skip(f"set {', '.join(missing)} to run the contract against the real qscanner")
    if not shutil.which(path):
        _skip(f"QSCANNER_PATH={path} is not an executable")
    options = QscannerOptions(
        executable=path,
        pod=pod,
        access_token=token,
        timeout_seconds=900,
        work_dir=str(tmp_path / "work"),
        cache_dir=str(tmp_path / "cache"),
    )
    image = os.environ.get("QSCAN_CONTRACT_IMAGE") or DEFAULT_REAL_IMAGE
    return Backend(QscannerRunner(options), image, token, real=True)


def test_scan_produces_a_consistent_normalized_result(backend: Backend) -> None:
    result = backend.runner.scan(ScanTarget(kind="image", platform="ecr", image=backend.image))
    assert result.status in COMPLETE_STATUSES, (result.status, result.reason, result.logs.get("stderr"))
    assert result.exit_code in (0, 42, 43)
    assert result.exit_code_name
    assert result.counts == SeverityCounts.of(result.findings)
    assert all(1 <= int(f.severity) <= 5 for f in result.findings)
    assert any(r.name.endswith("-Report.sarif.json") for r in result.raw_outputs)
    assert any(r.name.endswith("-ScanResult.json") for r in result.raw_outputs)
    assert "target_metadata" in result.metadata
    text = json.dumps(result.to_dict())
    assert backend.token not in text
    if not backend.real:
        assert [f.qid for f in result.findings] == ["9001", "9002"]


def test_unpullable_image_is_never_clean(backend: Backend) -> None:
    result = backend.runner.scan(ScanTarget(kind="image", platform="ecr", image=MISSING_IMAGE))
    assert result.status in STATUSES
    assert result.status not in COMPLETE_STATUSES
    assert result.findings == ()
    assert result.exit_code not in (0, 42, 43)


def test_token_is_never_in_argv(backend: Backend, tmp_path: Path) -> None:
    argv = backend.runner.build_argv(
        ScanTarget(kind="image", platform="ecr", image=backend.image), str(tmp_path)
    )
    assert not any(backend.token in arg for arg in argv)
    assert "--access-token" not in argv
    assert backend.runner.build_env()["QUALYS_ACCESS_TOKEN"] == backend.token


def test_scratch_stays_in_the_scans_tmpdir(backend: Backend, tmp_path: Path, monkeypatch: Any) -> None:
    """qscanner writes its scratch under TMPDIR (the runner's per-scan dir), never the process's own temp dir."""
    outer = tmp_path / "process-tmp"
    outer.mkdir()
    monkeypatch.setenv("TMPDIR", str(outer))
    backend.runner.scan(ScanTarget(kind="image", platform="ecr", image=backend.image))
    assert list(outer.iterdir()) == []
    assert list((tmp_path / "work").iterdir()) == []
