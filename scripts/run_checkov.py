"""Run checkov (offline) over modules/ and environments/ and enforce explained skips.

    run_checkov.py --checkov PATH_TO_CHECKOV [--root DIR] [--dir DIR ...]

checkov lives in its own virtualenv and runs as a subprocess. The gate fails on any failed check, on any
file checkov could not parse, and on any inline skip (`#checkov:skip=CKV_X:reason`) without a reason.

Notes on checkov 3.3.x behaviour this relies on (verified):
  - `--quiet` drops `skipped_checks` from the JSON report, so it is not used: the skip reasons are needed.
  - several `-d` options in one run print one cumulative report per directory, and later directories were
    observed not to be scanned at all; each directory therefore gets its own run (started concurrently).
  - a skip without a reason is reported with suppress_comment "No comment provided".
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import tfroots

CHECKOV_FLAGS = ("--skip-download", "--compact", "--framework", "terraform", "--output", "json")
NO_REASON_PLACEHOLDER = "No comment provided"
TIMEOUT_S = 900


class CheckovError(Exception):
    """checkov did not run or its output could not be understood."""


@dataclass(frozen=True)
class Finding:
    check_id: str
    check_name: str
    file: str
    line: int
    resource: str
    reason: str = ""

    def render(self, with_reason: bool = True) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.check_id} {self.check_name} ({self.resource})"
        return f"{text}: {self.reason.strip()}" if with_reason and self.reason.strip() else text


@dataclass
class Report:
    passed: int = 0
    failed: list[Finding] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)
    parsing_errors: list[str] = field(default_factory=list)

    @property
    def unexplained_skips(self) -> list[Finding]:
        return [s for s in self.skipped if not has_reason(s.reason)]

    @property
    def explained_skips(self) -> list[Finding]:
        return [s for s in self.skipped if has_reason(s.reason)]

    @property
    def ok(self) -> bool:
        return not (self.failed or self.parsing_errors or self.unexplained_skips)


def has_reason(comment: str) -> bool:
    text = comment.strip()
    return bool(text) and text != NO_REASON_PLACEHOLDER


def json_documents(text: str) -> list[Any]:
    """Every JSON value in text (checkov may print several reports back to back)."""
    decoder = json.JSONDecoder()
    documents: list[Any] = []
    index = 0
    while True:
        starts = [i for i in (text.find("{", index), text.find("[", index)) if i >= 0]
        if not starts:
            return documents
        index = min(starts)
        try:
            value, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError as exc:
            raise CheckovError(
                f"checkov printed output that is not JSON near offset {index}: {exc.msg}"
            ) from exc
        documents.append(value)


def _reports(documents: list[Any]) -> list[dict[str, Any]]:
    reports: list[dict[str, Any]] = []
    for document in documents:
        for item in document if isinstance(document, list) else [document]:
            if not isinstance(item, dict):
                raise CheckovError(f"unexpected checkov report of type {type(item).__name__}")
            reports.append(item)
    return reports


def _finding(entry: dict[str, Any], repo: Path) -> Finding:
    raw_path = entry.get("file_abs_path") or entry.get("file_path") or "?"
    line_range = entry.get("file_line_range") or [0]
    result = entry.get("check_result") or {}
    comment = result.get("suppress_comment") if isinstance(result, dict) else None
    return Finding(
        check_id=str(entry.get("check_id", "?")),
        check_name=str(entry.get("check_name", "")),
        file=tfroots.display(Path(str(raw_path)), repo),
        line=int(line_range[0]) if line_range and isinstance(line_range[0], int) else 0,
        resource=str(entry.get("resource", "?")),
        reason=str(comment) if comment is not None else "",
    )


def merge(report: Report, document_text: str, repo: Path) -> None:
    """Add one checkov run's JSON output to report, ignoring duplicated findings."""
    seen_failed = {(f.check_id, f.file, f.line, f.resource) for f in report.failed}
    seen_skipped = {(f.check_id, f.file, f.line, f.resource) for f in report.skipped}
    passed_keys: set[tuple[str, str, int, str]] = set()
    passed_from_summary = 0
    for item in _reports(json_documents(document_text)):
        results = item.get("results")
        if results is None:  # an empty directory yields only the summary
            continue
        if not isinstance(results, dict):
            raise CheckovError("checkov report has no results mapping")
        for entry in results.get("failed_checks") or []:
            finding = _finding(entry, repo)
            key = (finding.check_id, finding.file, finding.line, finding.resource)
            if key not in seen_failed:
                seen_failed.add(key)
                report.failed.append(finding)
        for entry in results.get("skipped_checks") or []:
            finding = _finding(entry, repo)
            key = (finding.check_id, finding.file, finding.line, finding.resource)
            if key not in seen_skipped:
                seen_skipped.add(key)
                report.skipped.append(finding)
        passed = results.get("passed_checks")
        if isinstance(passed, list):
            for entry in passed:
                finding = _finding(entry, repo)
                passed_keys.add((finding.check_id, finding.file, finding.line, finding.resource))
        else:
            summary = item.get("summary") or {}
            passed_from_summary = max(passed_from_summary, int(summary.get("passed", 0)))
        for error in results.get("parsing_errors") or []:
            path = tfroots.display(Path(str(error)), repo)
            if path not in report.parsing_errors:
                report.parsing_errors.append(path)
    report.passed += len(passed_keys) or passed_from_summary


def has_terraform(directory: Path) -> bool:
    return any(p.is_file() and ".terraform" not in p.parts for p in directory.rglob("*.tf"))


def run_checkov(checkov: Path, directories: list[Path], repo: Path) -> Report:
    """One checkov process per directory, all started at once; their reports merged."""
    report = Report()
    processes = []
    try:
        for directory in directories:
            command = [str(checkov), *CHECKOV_FLAGS, "--directory", str(directory)]
            processes.append(
                (
                    directory,
                    subprocess.Popen(
                        command, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                    ),
                )
            )
        for directory, process in processes:
            try:
                stdout, stderr = process.communicate(timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired as exc:
                raise CheckovError(f"checkov timed out after {TIMEOUT_S}s on {directory}") from exc
            if process.returncode not in (0, 1) or not stdout.strip():
                tail = "\n".join(stderr.strip().splitlines()[-20:])
                raise CheckovError(f"checkov exited {process.returncode} on {directory}:\n{tail}")
            merge(report, stdout, repo)
    finally:
        for _, process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="checkov over modules/ and environments/, skips need reasons"
    )
    parser.add_argument("--checkov", type=Path, required=True, help="the checkov executable (its own venv)")
    parser.add_argument("--root", type=Path, default=tfroots.REPO_ROOT, help="repository root")
    parser.add_argument(
        "--dir",
        dest="dirs",
        type=Path,
        action="append",
        help="directory to scan (default: modules, environments)",
    )
    args = parser.parse_args(argv)
    repo: Path = args.root.resolve()
    checkov: Path = args.checkov.absolute()
    if not (checkov.is_file() and checkov.stat().st_mode & 0o111):
        print(f"run_checkov: checkov executable not found: {checkov} (run `make bootstrap`)", file=sys.stderr)
        return 2

    candidates = args.dirs or [repo / tfroots.MODULES_DIR, repo / tfroots.ENVIRONMENTS_DIR]
    directories = [d.resolve() for d in candidates if d.is_dir() and has_terraform(d)]
    if not directories:
        print("checkov: no Terraform files under modules/ or environments/: nothing to scan")
        return 0

    start = time.monotonic()
    try:
        report = run_checkov(checkov, directories, repo)
    except CheckovError as exc:
        print(f"run_checkov: {exc}", file=sys.stderr)
        return 2

    scanned = ", ".join(tfroots.display(d, repo) for d in directories)
    print(f"checkov: scanned {scanned} in {time.monotonic() - start:.1f}s")
    for finding in report.failed:
        print(f"  FAILED  {finding.render()}")
    for path in report.parsing_errors:
        print(f"  PARSE   {path}: checkov could not parse this file, so nothing in it was checked")
    for finding in report.unexplained_skips:
        print(
            f"  NOREASON {finding.render(with_reason=False)}: skip without a reason; "
            f"write #checkov:skip={finding.check_id}:<why this is acceptable>"
        )
    for finding in report.explained_skips:
        print(f"  skipped {finding.render()}")
    print(
        f"checkov summary: checks ok={report.passed}; failing={len(report.failed)}; "
        f"skipped with a reason={len(report.explained_skips)}; "
        f"skipped without a reason={len(report.unexplained_skips)}; parse errors={len(report.parsing_errors)}"
    )
    if not report.ok:
        print("checkov: FAILED (fix the findings, or skip inline with a one-line reason)", file=sys.stderr)
        return 1
    print("checkov: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
