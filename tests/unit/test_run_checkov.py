"""scripts/run_checkov.py without checkov: report parsing and the skip-reason rule.

The canned reports copy the shape checkov 3.3.30 prints with `--framework terraform --output json`
(recorded from real runs): one report per run, `check_result.suppress_comment` on skipped checks
("No comment provided" when the inline skip has no reason), a bare summary for an empty directory, and
several back-to-back reports when given several directories.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts import run_checkov


def entry(check_id: str, path: str, resource: str, result: str, comment: str | None = None) -> dict[str, Any]:
    check_result: dict[str, Any] = {"result": result, "evaluated_keys": []}
    if comment is not None:
        check_result["suppress_comment"] = comment
    return {
        "check_id": check_id,
        "bc_check_id": None,
        "check_name": f"{check_id} name",
        "check_result": check_result,
        "code_block": None,
        "file_path": "/" + Path(path).name,
        "file_abs_path": path,
        "repo_file_path": "/" + path,
        "file_line_range": [3, 9],
        "resource": resource,
        "evaluations": None,
        "check_class": "checkov.terraform.checks.resource.aws.Something",
    }


def report(
    repo: Path,
    failed: int = 0,
    skipped: list[str | None] | None = None,
    passed: int = 2,
    parse_errors: int = 0,
) -> dict[str, Any]:
    main_tf = str(repo / "modules" / "q" / "main.tf")
    skipped = skipped or []
    return {
        "check_type": "terraform",
        "results": {
            "passed_checks": [
                entry(f"CKV_AWS_{100 + i}", main_tf, "aws_sqs_queue.this", "PASSED") for i in range(passed)
            ],
            "failed_checks": [
                entry("CKV_AWS_27", main_tf, f"aws_sqs_queue.q{i}", "FAILED") for i in range(failed)
            ],
            "skipped_checks": [
                entry(f"CKV_AWS_{200 + i}", main_tf, "aws_sqs_queue.this", "SKIPPED", comment)
                for i, comment in enumerate(skipped)
            ],
            "parsing_errors": [str(repo / "modules" / "q" / f"bad{i}.tf") for i in range(parse_errors)],
        },
        "summary": {
            "passed": passed,
            "failed": failed,
            "skipped": len(skipped),
            "parsing_errors": parse_errors,
            "resource_count": 1,
            "checkov_version": "3.3.30",
        },
    }


def merged(repo: Path, *documents: Any) -> run_checkov.Report:
    result = run_checkov.Report()
    run_checkov.merge(result, "\n".join(json.dumps(d, indent=4) for d in documents), repo)
    return result


def test_clean_report_is_ok(tmp_path: Path) -> None:
    result = merged(tmp_path, report(tmp_path, passed=3))
    assert result.ok
    assert result.passed == 3


def test_failed_check_fails_with_file_and_line(tmp_path: Path) -> None:
    result = merged(tmp_path, report(tmp_path, failed=1))
    assert not result.ok
    assert [f.render() for f in result.failed] == [
        "modules/q/main.tf:3: CKV_AWS_27 CKV_AWS_27 name (aws_sqs_queue.q0)"
    ]


@pytest.mark.parametrize("comment", ["No comment provided", "", "   ", None])
def test_skip_without_reason_fails(tmp_path: Path, comment: str | None) -> None:
    result = merged(tmp_path, report(tmp_path, skipped=[comment]))
    assert not result.ok
    assert len(result.unexplained_skips) == 1
    assert result.explained_skips == []


def test_skip_with_reason_passes(tmp_path: Path) -> None:
    result = merged(tmp_path, report(tmp_path, skipped=["Encrypted by the consumer's KMS key"]))
    assert result.ok
    assert [f.reason for f in result.explained_skips] == ["Encrypted by the consumer's KMS key"]


def test_parse_errors_fail(tmp_path: Path) -> None:
    result = merged(tmp_path, report(tmp_path, parse_errors=1))
    assert not result.ok
    assert result.parsing_errors == ["modules/q/bad0.tf"]


def test_empty_directory_summary_only(tmp_path: Path) -> None:
    summary = {"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0, "resource_count": 0}
    result = merged(tmp_path, summary)
    assert result.ok
    assert result.passed == 0


def test_back_to_back_cumulative_reports_are_deduplicated(tmp_path: Path) -> None:
    first = report(tmp_path, failed=1, skipped=["why"])
    result = merged(tmp_path, first, first, [first])
    assert len(result.failed) == 1
    assert len(result.skipped) == 1


def test_non_json_output_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(run_checkov.CheckovError, match="not JSON"):
        run_checkov.merge(run_checkov.Report(), '{"check_type": ', tmp_path)


FAKE_CHECKOV = """\
import json, os, pathlib, sys
args = sys.argv[1:]
with open(os.environ["FAKE_CHECKOV_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
directory = pathlib.Path(args[args.index("--directory") + 1])
canned = directory / "canned.json"
if not canned.exists():
    print("boom", file=sys.stderr)
    sys.exit(2)
report = json.loads(canned.read_text())
print(json.dumps(report, indent=4))
sys.exit(1 if report["summary"]["failed"] else 0)
"""


@pytest.fixture
def fake_checkov(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    script = tmp_path / "bin" / "checkov"
    script.parent.mkdir()
    script.write_text(f"#!{sys.executable}\n{FAKE_CHECKOV}")
    script.chmod(0o755)
    log = tmp_path / "checkov-calls.jsonl"
    monkeypatch.setenv("FAKE_CHECKOV_LOG", str(log))
    return script, log


def scan_dir(repo: Path, name: str, canned: dict[str, Any] | None) -> None:
    directory = repo / name
    (directory / "x").mkdir(parents=True)
    (directory / "x" / "main.tf").write_text("locals {}\n")
    if canned is not None:
        (directory / "canned.json").write_text(json.dumps(canned))


def test_main_runs_each_directory_once_with_offline_flags(
    tmp_path: Path, fake_checkov: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    scan_dir(repo, "modules", report(repo, skipped=["documented reason"]))
    scan_dir(repo, "environments", report(repo, passed=1))
    checkov, log = fake_checkov
    assert run_checkov.main(["--checkov", str(checkov), "--root", str(repo)]) == 0
    runs = [json.loads(line) for line in log.read_text().splitlines()]
    assert sorted(r[-1] for r in runs) == [str(repo / "environments"), str(repo / "modules")]
    for args in runs:
        assert args[:-2] == ["--skip-download", "--compact", "--framework", "terraform", "--output", "json"]
    out = capsys.readouterr().out
    assert "skipped with a reason=1; skipped without a reason=0" in out
    assert "checkov: OK" in out


def test_main_fails_on_a_finding(tmp_path: Path, fake_checkov: tuple[Path, Path]) -> None:
    repo = tmp_path / "repo"
    scan_dir(repo, "modules", report(repo, failed=1))
    checkov, _ = fake_checkov
    assert run_checkov.main(["--checkov", str(checkov), "--root", str(repo)]) == 1


def test_main_fails_when_checkov_crashes(
    tmp_path: Path, fake_checkov: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    scan_dir(repo, "modules", None)
    checkov, _ = fake_checkov
    assert run_checkov.main(["--checkov", str(checkov), "--root", str(repo)]) == 2
    assert "checkov exited 2" in capsys.readouterr().err


def test_main_with_nothing_to_scan_succeeds(
    tmp_path: Path, fake_checkov: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "modules" / "empty").mkdir(parents=True)
    checkov, log = fake_checkov
    assert run_checkov.main(["--checkov", str(checkov), "--root", str(tmp_path)]) == 0
    assert "nothing to scan" in capsys.readouterr().out
    assert not log.exists()


def test_main_refuses_a_missing_checkov(tmp_path: Path) -> None:
    assert run_checkov.main(["--checkov", str(tmp_path / "nope"), "--root", str(tmp_path)]) == 2
