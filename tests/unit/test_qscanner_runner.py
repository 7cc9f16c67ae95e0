"""The qscanner runner against the fake qscanner executable (a real subprocess, no servers)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from qscan.errors import ConfigError, InvalidEvent, InvalidReference
from qscan.results.model import ScanResult
from qscan.scanners import qscanner as qscanner_module
from qscan.scanners.qscanner import QscannerRunner, image_reference, scan_result_metadata
from qscan.target import ScanTarget

from tests.doubles.fake_qscanner import fake_runner

SCHEMA = json.loads((Path(__file__).parents[2] / "shared/qscan/schemas/scan-result.schema.json").read_text())
TOKEN = "qtok-Zx81LmQ0-9fA7b6C5d4E3f2G1h0-unit"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.2"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:orders"
FINDINGS = [
    {"qid": "1001", "title": "crit", "severity": 5, "cves": ["CVE-2024-1"], "packageName": "openssl"},
    {"qid": "1002", "title": "high in rule", "severity": 4, "severity_in": "rule"},
    {"qid": "1003", "title": "low by level", "severity": 2, "severity_in": "level"},
]


def image_target(ref: str = IMAGE) -> ScanTarget:
    return ScanTarget(kind="image", platform="ecr", image=ref)


@pytest.fixture
def make_runner(tmp_path: Path) -> Any:
    def make(
        targets: dict[str, Any], default: dict[str, Any] | None = None, **overrides: Any
    ) -> QscannerRunner:
        runner: QscannerRunner = fake_runner(
            tmp_path, targets, default, **{"access_token": TOKEN, **overrides}
        )
        return runner

    return make


def wait_for(path: Path, seconds: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists():
            return dict(json.loads(path.read_text()))
        time.sleep(0.02)
    raise AssertionError(f"{path} never appeared")


def gone(pid: int, seconds: float = 5.0) -> bool:
    """True once `pid` no longer exists (or is only a zombie awaiting its reaper)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def dumped(result: ScanResult) -> str:
    return json.dumps(result.to_dict()) + "".join(r.body.decode(errors="replace") for r in result.raw_outputs)


# ---------------------------------------------------------------- success path
@pytest.mark.parametrize(
    ("sbom_format", "key", "content_type"),
    [
        ("spdx", "spdxVersion", "application/spdx+json"),
        ("cyclonedx", "bomFormat", "application/vnd.cyclonedx+json"),
    ],
)
def test_an_sbom_asked_for_is_kept_beside_the_reports(
    make_runner: Any, tmp_path: Path, sbom_format: str, key: str, content_type: str
) -> None:
    record = tmp_path / "record.json"
    runner = make_runner({IMAGE: {"findings": FINDINGS, "record_file": str(record)}}, sbom_format=sbom_format)
    result = runner.scan(image_target())
    assert result.status == "success", result.reason
    argv = wait_for(record)["argv"]
    assert argv[argv.index("--format") + 1] == f"json,{sbom_format}"
    (sbom,) = [r for r in result.raw_outputs if r.content_type == content_type]
    assert key in json.loads(sbom.body)
    assert len(result.raw_outputs) == 3  # SARIF, ScanResult.json and the SBOM
    jsonschema.validate(result.to_dict(), SCHEMA)


def test_no_sbom_unless_asked(make_runner: Any, tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    result = make_runner({IMAGE: {"record_file": str(record)}}).scan(image_target())
    argv = wait_for(record)["argv"]
    assert argv[argv.index("--format") + 1] == "json"
    assert len(result.raw_outputs) == 2


def test_a_failed_scan_writes_no_sbom(make_runner: Any) -> None:
    result = make_runner({IMAGE: {"exit_code": 5}}, sbom_format="spdx").scan(image_target())
    assert result.status == "failed"
    assert result.raw_outputs == ()


def test_success_parses_sarif_and_metadata(make_runner: Any) -> None:
    runner = make_runner({IMAGE: {"findings": FINDINGS, "image_id": "sha256:" + "ab" * 32}})
    result = runner.scan(image_target())
    assert result.status == "success", result.reason
    assert (result.exit_code, result.exit_code_name, result.reason) == (0, "SUCCESS", None)
    assert [(f.qid, int(f.severity)) for f in result.findings] == [("1001", 5), ("1002", 4), ("1003", 2)]
    assert result.counts.to_dict() == {"critical": 1, "high": 1, "medium": 0, "low": 1, "info": 0}
    assert result.metadata["target_metadata"]["ImageID"] == "sha256:" + "ab" * 32
    assert result.metadata["target_metadata"]["Name"] == IMAGE
    assert result.metadata["scanner_metadata"]["ScannerVersion"].startswith("fake-qscanner")
    assert result.metadata["scan_types"] == ["os", "sca", "secret"]
    assert sorted(r.name for r in result.raw_outputs) == [
        f"{IMAGE.replace('/', '_').replace(':', '_')}-Report.sarif.json",
        f"{IMAGE.replace('/', '_').replace(':', '_')}-ScanResult.json",
    ]
    assert "scanning image" in result.logs["stdout"]
    assert result.duration_seconds is not None
    assert result.finished_at is not None
    jsonschema.validate(result.to_dict(), SCHEMA)


def test_lambda_target_uses_lambda_subcommand(make_runner: Any, tmp_path: Path) -> None:
    record = tmp_path / "rec.json"
    runner = make_runner({ARN: {"record_file": str(record), "findings": FINDINGS[:1]}})
    result = runner.scan(ScanTarget(kind="function", platform="lambda", function_arn=ARN, code_sha256="abc"))
    assert result.status == "success"
    argv = json.loads(record.read_text())["argv"]
    assert argv[-2:] == ["lambda", ARN]
    assert result.metadata["target_metadata"]["Type"] == "lambda"


def test_digest_reference_preferred() -> None:
    target = ScanTarget(
        kind="image",
        platform="ecr",
        image=IMAGE,
        registry="123456789012.dkr.ecr.us-east-1.amazonaws.com",
        repository="app",
        digest="sha256:" + "0" * 64,
    )
    assert image_reference(target) == "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + "0" * 64


# ---------------------------------------------------------------- exit codes
@pytest.mark.parametrize(
    ("code", "status", "name", "has_findings"),
    [
        (0, "success", "SUCCESS", True),
        (1, "failed", "GENERIC_ERROR", False),
        (2, "failed", "INVALID_PARAMETER", False),
        (5, "failed", "SCAN_STAGE_FAILED_5", False),
        (21, "failed", "SCAN_STAGE_FAILED_21", False),
        (30, "partial", "RESULT_HANDLER_FAILED_30", False),
        (39, "partial", "RESULT_HANDLER_FAILED_39", False),
        (40, "partial", "VULN_REPORT_FAILED", False),
        (41, "partial", "POLICY_RESULT_FAILED", True),
        (42, "policy_deny", "POLICY_DENY", True),
        (43, "policy_audit", "POLICY_AUDIT", True),
        (3, "failed", "UNKNOWN_3", False),
        (77, "failed", "UNKNOWN_77", False),
    ],
)
def test_every_exit_code(make_runner: Any, code: int, status: str, name: str, has_findings: bool) -> None:
    runner = make_runner({IMAGE: {"exit_code": code, "findings": FINDINGS}})
    result = runner.scan(image_target())
    assert (result.status, result.exit_code, result.exit_code_name) == (status, code, name)
    assert bool(result.findings) is has_findings
    assert result.complete is (status in ("success", "policy_deny", "policy_audit"))
    if status != "success":
        assert result.reason and result.reason.startswith(name)


def test_code_40_with_a_report_is_still_partial(make_runner: Any) -> None:
    runner = make_runner({IMAGE: {"exit_code": 40, "outputs": ["scan_result", "sarif"], "findings": []}})
    result = runner.scan(image_target())
    assert result.status == "partial"
    assert not result.complete
    assert result.exit_code_name == "VULN_REPORT_FAILED"


def test_unknown_target_is_scan_stage_failure(make_runner: Any) -> None:
    runner = make_runner({})
    result = runner.scan(image_target("docker.io/library/nope:1"))
    assert (result.status, result.exit_code) == ("failed", 5)
    assert "not found" in result.logs["stderr"]


# ---------------------------------------------------------------- malformed / missing outputs
@pytest.mark.parametrize(
    ("scenario", "needle"),
    [
        ({"malformed": ["sarif"]}, "SARIF is not valid JSON"),
        ({"malformed": ["scan_result"]}, "ScanResult.json is not valid JSON"),
        ({"outputs": ["scan_result"]}, "SARIF report missing"),
        ({"outputs": ["sarif"]}, "ScanResult.json missing"),
        ({"outputs": []}, "SARIF report missing; ScanResult.json missing"),
        ({"exit_code": 42, "malformed": ["sarif"]}, "POLICY_DENY but unusable output"),
    ],
)
def test_missing_or_malformed_outputs_fail(make_runner: Any, scenario: dict[str, Any], needle: str) -> None:
    runner = make_runner({IMAGE: {"findings": FINDINGS, **scenario}})
    result = runner.scan(image_target())
    assert result.status == "failed"
    assert not result.findings
    assert result.counts.to_dict() == {"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0}
    assert result.reason is not None
    assert needle in result.reason


def test_scan_result_without_metadata_is_unusable() -> None:
    with pytest.raises(ValueError, match="no Metadata"):
        scan_result_metadata(b'{"Results": []}')
    with pytest.raises(ValueError, match="not an object"):
        scan_result_metadata(b"[1]")


# ---------------------------------------------------------------- timeout and process groups
def test_timeout_kills_the_whole_process_group(make_runner: Any, tmp_path: Path) -> None:
    record = tmp_path / "rec.json"
    runner = make_runner(
        {IMAGE: {"delay_seconds": 60, "spawn_child": True, "record_file": str(record)}}, timeout_seconds=1.5
    )
    started = time.monotonic()
    result = runner.scan(image_target())
    elapsed = time.monotonic() - started
    info = json.loads(record.read_text())
    assert result.status == "timeout"
    assert result.exit_code is None
    assert result.exit_code_name == "TIMEOUT"
    jsonschema.validate(result.to_dict(), SCHEMA)
    assert elapsed < 10
    assert info["child_pid"] is not None
    assert gone(info["pid"]), "the scanner survived its timeout"
    assert gone(info["child_pid"]), "the scanner's child survived the timeout"
    assert not list((tmp_path / "work").iterdir()), "the output dir outlived the scan"


def test_timeout_escalates_to_sigkill(make_runner: Any, tmp_path: Path) -> None:
    record = tmp_path / "rec.json"
    runner = make_runner(
        {IMAGE: {"delay_seconds": 60, "ignore_sigterm": True, "record_file": str(record)}},
        timeout_seconds=1.0,
        kill_grace_seconds=0.3,
    )
    result = runner.scan(image_target())
    assert result.status == "timeout"
    assert gone(json.loads(record.read_text())["pid"])


def test_leftover_children_are_killed_after_a_normal_exit(make_runner: Any, tmp_path: Path) -> None:
    record = tmp_path / "rec.json"
    runner = make_runner({IMAGE: {"spawn_child": True, "leave_child": True, "record_file": str(record)}})
    assert runner.scan(image_target()).status == "success"
    assert gone(json.loads(record.read_text())["child_pid"])


# ---------------------------------------------------------------- isolation between scans
def test_warm_second_scan_never_sees_first_scans_files(make_runner: Any, tmp_path: Path) -> None:
    rec1, rec2 = tmp_path / "r1.json", tmp_path / "r2.json"
    other = "123456789012.dkr.ecr.us-east-1.amazonaws.com/other:2"
    runner = make_runner(
        {
            IMAGE: {"findings": FINDINGS, "record_file": str(rec1)},
            other: {"findings": [], "record_file": str(rec2), "outputs": ["scan_result"]},
        }
    )
    first = runner.scan(image_target())
    second = runner.scan(image_target(other))
    one, two = json.loads(rec1.read_text()), json.loads(rec2.read_text())
    assert (
        one["argv"][one["argv"].index("--output-dir") + 1]
        != two["argv"][two["argv"].index("--output-dir") + 1]
    )
    assert two["output_dir_entries"] == []
    assert first.status == "success"
    # The second scan wrote no SARIF: it must fail on its own missing report, not reuse the first one.
    assert second.status == "failed"
    assert second.findings == ()
    assert "SARIF report missing" in (second.reason or "")
    assert not list((tmp_path / "work").iterdir())


# ---------------------------------------------------------------- secrets
def test_token_only_in_child_environment(
    make_runner: Any, tmp_path: Path, caplog: Any, monkeypatch: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("QUALYS_PASSWORD", "parent-password-value")
    monkeypatch.setenv("QUALYS_ACCESS_TOKEN", "stale-parent-token-value")
    record = tmp_path / "rec.json"
    runner = make_runner({IMAGE: {"record_file": str(record), "delay_seconds": 1.0, "echo_token": True}})
    seen: dict[str, bytes] = {}

    def peek() -> None:
        info = wait_for(record)
        seen["cmdline"] = Path(f"/proc/{info['pid']}/cmdline").read_bytes()
        seen["environ"] = Path(f"/proc/{info['pid']}/environ").read_bytes()

    thread = threading.Thread(target=peek)
    thread.start()
    result = runner.scan(image_target())
    thread.join(15)
    assert result.status == "success"
    assert b"--pod" in seen["cmdline"]
    assert TOKEN.encode() not in seen["cmdline"]
    assert b"QUALYS_ACCESS_TOKEN=" + TOKEN.encode() in seen["environ"].split(b"\0")
    assert b"parent-password-value" not in seen["environ"]
    info = json.loads(record.read_text())
    assert info["token_in_env"] is True
    assert "--access-token" not in info["argv"]
    assert TOKEN not in dumped(result)
    assert "***" in result.logs["stderr"]
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(runner._opts)


def test_token_in_argv_is_refused(make_runner: Any) -> None:
    runner = make_runner({}, tags={"team": TOKEN})
    with pytest.raises(ConfigError, match="argv"):
        runner.scan(image_target())


def test_home_and_cache_dirs(make_runner: Any, tmp_path: Path) -> None:
    record = tmp_path / "rec.json"
    home, cache = tmp_path / "home", tmp_path / "cache"
    runner = make_runner({IMAGE: {"record_file": str(record)}}, home_dir=str(home), cache_dir=str(cache))
    assert runner.scan(image_target()).status == "success"
    info = json.loads(record.read_text())
    assert info["home"] == str(home)
    assert info["argv"][info["argv"].index("--cache-dir") + 1] == str(cache)
    assert list((cache / "fake-cache").iterdir())


def test_logs_are_truncated(make_runner: Any) -> None:
    runner = make_runner({IMAGE: {"stdout": "x" * 50_000 + "THE-END"}}, log_limit=1000)
    result = runner.scan(image_target())
    assert result.logs["stdout"].startswith("[truncated]...")
    assert len(result.logs["stdout"]) <= 1000 + len("[truncated]...")
    assert "scan finished" in result.logs["stdout"]


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("ref", ["-rf", "--access-token=x", "img name", "a/../b", "", "image;rm"])
def test_unsafe_image_references_rejected(make_runner: Any, ref: str) -> None:
    runner = make_runner({})
    with pytest.raises(InvalidReference):
        runner.scan(image_target(ref) if ref else ScanTarget(kind="image", platform="ecr"))


@pytest.mark.parametrize(
    "arn", ["orders", "arn:aws:lambda:us-east-1:1234:function:x", "arn:aws:s3:::bucket", None]
)
def test_bad_function_arns_rejected(make_runner: Any, arn: str | None) -> None:
    runner = make_runner({})
    with pytest.raises(InvalidEvent):
        runner.scan(ScanTarget(kind="function", platform="lambda", function_arn=arn))


@pytest.mark.parametrize(
    "overrides",
    [
        {"executable": "/nonexistent/qscanner"},
        {"access_token": ""},
        {"pod": "US 1; rm"},
        {"scan_types": ()},
        {"scan_types": ("os", "--evil")},
        {"timeout_seconds": 0},
        {"work_dir": "relative/dir"},
        {"mode": "yolo"},
    ],
)
def test_bad_options_raise_config_error(make_runner: Any, overrides: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        make_runner({}, **overrides)


def test_executable_that_cannot_start_gives_failed(make_runner: Any, tmp_path: Path) -> None:
    broken = tmp_path / "qscanner"
    broken.write_text("#!/nonexistent/interpreter\n")
    broken.chmod(0o755)
    result = make_runner({}, executable=str(broken)).scan(image_target())
    assert result.status == "failed"
    assert result.reason == "cannot start qscanner: FileNotFoundError"
    assert os.path.exists(sys.executable)


# ---------------------------------------------------------------- noticing the exit
class RecordingPopen(subprocess.Popen[bytes]):
    """The real Popen, recording every wait() timeout (Popen.wait(timeout=x) sleep-polls up to 50 ms late)."""

    timeouts: list[float | None] = []

    def wait(self, timeout: float | None = None) -> int:
        RecordingPopen.timeouts.append(timeout)
        return super().wait(timeout)


@pytest.mark.parametrize("scenario", [{}, {"delay_seconds": 0.3}, {"exit_code": 42, "findings": FINDINGS}])
def test_the_exit_is_waited_for_by_blocking_not_by_polling(
    make_runner: Any, monkeypatch: Any, scenario: dict[str, Any]
) -> None:
    monkeypatch.setattr(RecordingPopen, "timeouts", [])
    monkeypatch.setattr(qscanner_module.subprocess, "Popen", RecordingPopen)
    result = make_runner({IMAGE: scenario}).scan(image_target())
    assert result.exit_code == scenario.get("exit_code", 0)
    assert RecordingPopen.timeouts and all(t is None for t in RecordingPopen.timeouts)


def test_timeout_is_kept_without_polling(make_runner: Any, monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setattr(RecordingPopen, "timeouts", [])
    monkeypatch.setattr(qscanner_module.subprocess, "Popen", RecordingPopen)
    record = tmp_path / "rec.json"
    runner = make_runner(
        {
            IMAGE: {
                "delay_seconds": 60,
                "ignore_sigterm": True,
                "spawn_child": True,
                "record_file": str(record),
            }
        },
        timeout_seconds=1.0,
        kill_grace_seconds=0.2,
    )
    result = runner.scan(image_target())
    info = json.loads(record.read_text())
    assert result.status == "timeout"
    assert gone(info["pid"]) and gone(info["child_pid"])
    assert all(t is None for t in RecordingPopen.timeouts)
