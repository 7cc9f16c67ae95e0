"""`qscan scan` with the qscanner backend, driven through the fake qscanner (env configured like a user would)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from qscan.cli import main
from qscan.cli.scan import parse_target
from qscan.errors import InvalidEvent, InvalidReference

from tests.doubles.fake_qscanner import PYTHON_ENV, SCENARIOS_ENV, WRAPPER, write_scenarios

TOKEN = "cli-token-0123456789abcdef"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:3.1"
ARN = "arn:aws:lambda:eu-west-1:123456789012:function:billing"


@pytest.fixture
def env(monkeypatch: Any, tmp_path: Path) -> Path:
    for name in (
        "QSCAN_QUALYS_SECRET_ARN",
        "QSCAN_QUALYS_SECRET_URI",
        "QUALYS_GATEWAY_URL",
        "QUALYS_USERNAME",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QSCAN_CLOUD", "aws")
    monkeypatch.setenv("QSCAN_SCANNER_BACKEND", "qscanner")
    monkeypatch.setenv("QSCANNER_PATH", str(WRAPPER))
    monkeypatch.setenv("QSCAN_SCAN_TYPES", "os,sca")
    monkeypatch.setenv("QUALYS_POD", "EU2")
    monkeypatch.setenv("QUALYS_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv(PYTHON_ENV, sys.executable)
    scenarios = tmp_path / "scenarios.json"
    monkeypatch.setenv(SCENARIOS_ENV, str(scenarios))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    return scenarios


def test_scan_image_prints_normalized_result(env: Path, capsys: Any, tmp_path: Path) -> None:
    record = tmp_path / "rec.json"
    write_scenarios(env, {IMAGE: {"findings": [{"qid": "7", "severity": 4}], "record_file": str(record)}})
    assert main(["scan", IMAGE]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "success"
    assert out["backend"] == "qscanner"
    assert out["target"]["image"] == IMAGE
    assert out["target"]["region"] == "eu-west-1"
    assert out["counts"]["high"] == 1
    argv = json.loads(record.read_text())["argv"]
    assert argv[argv.index("--scan-types") + 1] == "os,sca"
    assert argv[argv.index("--pod") + 1] == "EU2"
    assert TOKEN not in json.dumps(out)


def test_scan_function_arn(env: Path, capsys: Any) -> None:
    write_scenarios(env, {ARN: {"findings": []}})
    assert main(["scan", ARN]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["target"]["kind"] == "function"
    assert out["target"]["platform"] == "lambda"
    assert out["target"]["account"] == "123456789012"


def test_incomplete_scan_exits_1(env: Path, capsys: Any) -> None:
    write_scenarios(env, {IMAGE: {"exit_code": 40}})
    assert main(["scan", IMAGE]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["status"] == "partial"
    assert "VULN_REPORT_FAILED" in captured.err


def test_policy_deny_is_a_completed_scan(env: Path, capsys: Any) -> None:
    write_scenarios(env, {IMAGE: {"exit_code": 42}})
    assert main(["scan", IMAGE]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "policy_deny"


def test_bad_input_exits_2(env: Path, capsys: Any) -> None:
    assert main(["scan", "arn:aws:s3:::bucket"]) == 2
    assert main(["scan", "Bad Image!"]) == 2
    assert capsys.readouterr().out == ""


def test_missing_secret_exits_2(env: Path, capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("QUALYS_ACCESS_TOKEN")
    monkeypatch.delenv("QUALYS_POD")
    assert main(["scan", IMAGE]) == 2
    assert "Qualys" in capsys.readouterr().err


def test_parse_target() -> None:
    target = parse_target("nginx:1.27")
    assert (target.registry, target.repository, target.tag) == ("docker.io", "library/nginx", "1.27")
    with pytest.raises(InvalidReference):
        parse_target("-rf")
    with pytest.raises(InvalidEvent):
        parse_target("arn:aws:lambda:us-east-1:123456789012:layer:x:1")
