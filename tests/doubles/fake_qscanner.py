"""A fake `qscanner` executable that behaves like the real one as DESIGN §4 describes it.

Run it through the wrapper `tests/doubles/bin/qscanner` (a shell script that execs
`"${QSCAN_FAKE_PYTHON:-python3}" tests/doubles/fake_qscanner.py "$@"`; set QSCAN_FAKE_PYTHON to the venv's
python). Stdlib only, so any Python 3.11 runs it.

Invocation: `qscanner [global flags] image <ref>` or `qscanner [global flags] lambda <function-arn>` with the
global flags of the real tool (`--pod`, `--access-token`, `--scan-types`, `--output-dir`, `--cache-dir`,
`--format`, `--report-format`, `--mode`, `--policy-tags`, `--scan-timeout`, `--tag`, `--skip-verify-tls`).
Like the real tool it needs a token (`QUALYS_ACCESS_TOKEN` or `--access-token`) and a POD, prints a human log
(not JSON) on stdout, and writes `<name>-ScanResult.json` and `<name>-Report.sarif.json` into `--output-dir`,
and with `--format json,spdx` / `json,cyclonedx` an SBOM beside them (`_sbom`).

Disk use, as the real (Go) tool's: it pulls and unpacks the image's layers into a scratch directory under the
temp dir (`os.TempDir()`, i.e. `$TMPDIR`, else /tmp), where unpacked layers keep their read-only directory
modes, and removes it when it exits normally: a killed scanner leaves it behind. Pulled blobs go to
`--cache-dir` (`<cache>/fake-cache/<16 hex of the target>`, rewritten on every scan of that target), which the
tool never prunes itself. `tmp_bytes` / `cache_bytes` set how much is written (default 8 KiB / 4 KiB).

Behaviour per target comes from a JSON scenario file named by `QSCAN_FAKE_QSCANNER_SCENARIOS`:

    {"default": {...scenario...}, "targets": {"<image ref or function ARN>": {...scenario...}}}

A target without an entry uses "default"; without a default it fails like an unpullable image (exit 5).
Without the variable every target succeeds with no findings. Scenario keys (all optional):

    exit_code       int, default 0 (the report files written follow the code: none for 1/2/5-21/other,
                    ScanResult.json only for 30-40, both for 0/41/42/43)
    outputs         override that: a list of "scan_result" / "sarif"
    malformed       list of outputs written as broken JSON ("scan_result", "sarif")
    findings        list of {qid, title, severity 1-5, cves, packageName, installedVersion, fixedVersion,
                    cvssScore, severity_in: "result" (default) | "rule" | "level"}
    image_id, os    reported in ScanResult.json Metadata.TargetMetadata
    delay_seconds   sleep before finishing (a timeout test)
    tmp_bytes, cache_bytes  bytes unpacked into the temp dir / written to the cache dir (see above)
    leave_tmp       do not remove the temp-dir scratch at exit (a scanner that leaks it)
    spawn_child     also start a sleeping child process in the same process group
    ignore_sigterm  ignore SIGTERM (the runner must escalate to SIGKILL)
    stdout, stderr  extra text to print; echo_token prints the token to stderr (a redaction test)
    record_file     write {"pid", "child_pid", "argv", "cwd", "home", "tmp_env", "scratch", "token_in_env",
                    ...} there at start (after the layers are unpacked)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SCENARIOS_ENV = "QSCAN_FAKE_QSCANNER_SCENARIOS"
PYTHON_ENV = "QSCAN_FAKE_PYTHON"
# The executable wrapper to configure as QSCANNER_PATH.
WRAPPER = Path(__file__).resolve().parent / "bin" / "qscanner"
VERSION = "fake-qscanner 4.9.0-test"
_LEVELS = {5: "error", 4: "error", 3: "warning", 2: "note", 1: "none"}


def fake_env(scenarios_file: str | Path) -> dict[str, str]:
    """Environment for a runner that uses the wrapper: this interpreter and the scenario file."""
    return {PYTHON_ENV: sys.executable, SCENARIOS_ENV: str(scenarios_file)}


def write_scenarios(path: Path, targets: dict[str, Any], default: dict[str, Any] | None = None) -> Path:
    data: dict[str, Any] = {"targets": targets}
    if default is not None:
        data["default"] = default
    path.write_text(json.dumps(data))
    return path


def fake_runner(
    tmp_path: Path, targets: dict[str, Any], default: dict[str, Any] | None = None, **overrides: Any
) -> Any:
    """A `QscannerRunner` on the wrapper with these scenarios (work dir `tmp_path/work`, token `fake-token`)."""
    from qscan.scanners.qscanner import QscannerOptions, QscannerRunner  # noqa: PLC0415 - the executable is stdlib only

    scenarios = write_scenarios(tmp_path / "scenarios.json", targets, default)
    options: dict[str, Any] = {
        "executable": str(WRAPPER),
        "pod": "US1",
        "access_token": "fake-token",
        "timeout_seconds": 30.0,
        "work_dir": str(tmp_path / "work"),
        "extra_env": fake_env(scenarios),
    }
    options.update(overrides)
    return QscannerRunner(QscannerOptions(**options))


# `--format` values (Qualys' "Data Collection Formats"): json, the changelist db, SPDX JSON / tag-value, CycloneDX.
FORMATS = ("json", "table", "db", "spdx", "spdx-tlv", "cyclonedx")


def _sbom(target: str, kind: str) -> dict[str, Any]:
    """A minimal SPDX 2.3 or CycloneDX 1.5 JSON document for the target (the real file name is not documented:
    this double names it `<name>-sbom.<kind>.json`, and the runner finds an SBOM by its content)."""
    if kind == "spdx":
        return {"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": target, "packages": []}
    return {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": []}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qscanner", add_help=True)
    parser.add_argument("--pod")
    parser.add_argument("--access-token")
    parser.add_argument("--scan-types", default="os,sca,secret")
    parser.add_argument("--output-dir", default=".")
    parser.add_argument("--cache-dir")
    parser.add_argument("--format", default="json")  # a comma list of FORMATS
    parser.add_argument("--report-format", default="json")
    parser.add_argument("--mode", choices=["get-report", "evaluate-policy", "inventory-only", "scan-only"])
    parser.add_argument("--policy-tags")
    parser.add_argument("--scan-timeout")
    parser.add_argument("--tag", action="append", default=[])
    parser.add_argument("--skip-verify-tls", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("image").add_argument("target")
    sub.add_parser("lambda").add_argument("target")
    sub.add_parser("version")
    return parser


def _load_scenario(target: str) -> dict[str, Any] | None:
    path = os.environ.get(SCENARIOS_ENV)
    if not path:
        return {}
    data = json.loads(Path(path).read_text())
    targets = data.get("targets", {})
    if target in targets:
        return dict(targets[target])
    return dict(data["default"]) if "default" in data else None


def _default_outputs(code: int) -> list[str]:
    if code in (0, 41, 42, 43):
        return ["scan_result", "sarif"]
    if 30 <= code <= 40:
        return ["scan_result"]
    return []


def _sarif(target: str, findings: list[dict[str, Any]]) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for item in findings:
        severity = int(item.get("severity", 3))
        where = item.get("severity_in", "result")
        qid = str(item.get("qid", "0"))
        props = {
            "qid": qid,
            "cves": item.get("cves", []),
            "packageName": item.get("packageName"),
            "installedVersion": item.get("installedVersion"),
            "fixedVersion": item.get("fixedVersion"),
            "cvssScore": item.get("cvssScore"),
        }
        rule: dict[str, Any] = {
            "id": qid,
            "name": f"QID{qid}",
            "shortDescription": {"text": item.get("title", f"Vulnerability {qid}")},
            "properties": {"qid": qid},
        }
        if where == "rule":
            rule["properties"]["severity"] = severity
        elif where == "result":
            props["severity"] = severity
        rules.append(rule)
        results.append(
            {
                "ruleId": qid,
                "ruleIndex": len(rules) - 1,
                "level": _LEVELS.get(severity, "warning"),
                "message": {"text": f"{item.get('packageName')} {item.get('installedVersion')} on {target}"},
                "properties": {k: v for k, v in props.items() if v is not None},
            }
        )
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {"tool": {"driver": {"name": "qscanner", "version": VERSION, "rules": rules}}, "results": results}
        ],
    }


def _scan_result(args: argparse.Namespace, scenario: dict[str, Any]) -> dict[str, Any]:
    digest = hashlib.sha256(args.target.encode()).hexdigest()
    return {
        "SchemaVersion": 2,
        "Metadata": {
            "ScannerVersion": VERSION,
            "ScanTypes": args.scan_types.split(","),
            "Mode": args.mode or "get-report",
            "TargetMetadata": {
                "Type": "lambda" if args.command == "lambda" else "image",
                "Name": args.target,
                "ImageID": scenario.get("image_id", f"sha256:{digest}"),
                "OS": scenario.get("os", {"Family": "alpine", "Name": "3.19.1"}),
                "Tags": args.tag,
            },
        },
        "Results": [{"Target": args.target, "Vulnerabilities": len(scenario.get("findings", []))}],
    }


def _unpack_layers(target: str, size: int) -> Path:
    """A scratch dir under the temp dir with an "unpacked layer": files plus a read-only directory."""
    scratch = Path(tempfile.mkdtemp(prefix="qscanner-"))  # honours TMPDIR, like Go's os.TempDir
    layer = scratch / "layers" / hashlib.sha256(target.encode()).hexdigest()[:12]
    (layer / "etc").mkdir(parents=True)
    (layer / "etc" / "os-release").write_text("ID=alpine\nVERSION_ID=3.19.1\n")
    (layer / "usr" / "lib").mkdir(parents=True)
    (layer / "usr" / "lib" / "blob.bin").write_bytes(_filler(target, size))
    for directory in (layer / "usr" / "lib", layer / "usr"):
        directory.chmod(0o555)  # image layers keep their modes: read-only directories
    return scratch


def _remove_scratch(scratch: Path) -> None:
    for directory, _, _ in os.walk(scratch):
        os.chmod(directory, 0o755)
    shutil.rmtree(scratch)


def _filler(seed: str, size: int) -> bytes:
    block = hashlib.sha256(seed.encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def _write(path: Path, document: dict[str, Any], malformed: bool) -> None:
    text = json.dumps(document, indent=2)
    path.write_text(text[: len(text) // 2] if malformed else text)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "version":
        print(VERSION)
        return 0
    token = args.access_token or os.environ.get("QUALYS_ACCESS_TOKEN")
    if not token:
        print("ERROR: access token required (QUALYS_ACCESS_TOKEN or --access-token)", file=sys.stderr)
        return 1
    if not args.pod:
        print("ERROR: --pod is required", file=sys.stderr)
        return 2
    formats = args.format.split(",")
    if not all(f in FORMATS for f in formats):
        print(f"ERROR: invalid --format {args.format!r}", file=sys.stderr)
        return 2
    scenario = _load_scenario(args.target)
    if scenario is None:
        print(f"ERROR: failed to fetch {args.target}: not found", file=sys.stderr)
        return 5
    child = None
    if scenario.get("ignore_sigterm"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if scenario.get("spawn_child"):
        child = subprocess.Popen(  # same process group as this process
            [sys.executable, "-c", "import time; time.sleep(300)"], stdin=subprocess.DEVNULL
        )
    scratch = _unpack_layers(args.target, int(scenario.get("tmp_bytes", 8192)))
    if args.cache_dir:
        cache = Path(args.cache_dir) / "fake-cache"
        cache.mkdir(parents=True, exist_ok=True)
        blob = hashlib.sha256(args.target.encode()).hexdigest()[:16]
        (cache / blob).write_bytes(_filler(args.target, int(scenario.get("cache_bytes", 4096))))
    if scenario.get("record_file"):
        record = {
            "pid": os.getpid(),
            "child_pid": child.pid if child else None,
            "argv": argv,
            "cwd": os.getcwd(),
            "home": os.environ.get("HOME"),
            "tmp_env": {k: os.environ.get(k) for k in ("TMPDIR", "TMP", "TEMP")},
            "scratch": str(scratch),
            "token_in_env": os.environ.get("QUALYS_ACCESS_TOKEN") == token,
            "output_dir_entries": sorted(os.listdir(args.output_dir)),
            "env_keys": sorted(os.environ),
        }
        tmp = Path(scenario["record_file"] + ".tmp")
        tmp.write_text(json.dumps(record))
        tmp.rename(scenario["record_file"])
    print(
        f"qscanner {VERSION}: scanning {args.command} {args.target} (pod {args.pod}, types {args.scan_types})"
    )
    if scenario.get("stdout"):
        print(scenario["stdout"])
    if scenario.get("stderr"):
        print(scenario["stderr"], file=sys.stderr)
    if scenario.get("echo_token"):
        print(f"debug: using token {token}", file=sys.stderr)
    sys.stdout.flush()
    delay = float(scenario.get("delay_seconds", 0))
    if delay:
        time.sleep(delay)
    code = int(scenario.get("exit_code", 0))
    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", args.target)[-100:]
    malformed = set(scenario.get("malformed", []))
    outputs = scenario.get("outputs", _default_outputs(code))
    if "scan_result" in outputs:
        _write(out_dir / f"{name}-ScanResult.json", _scan_result(args, scenario), "scan_result" in malformed)
    if "sarif" in outputs:
        _write(
            out_dir / f"{name}-Report.sarif.json",
            _sarif(args.target, scenario.get("findings", [])),
            "sarif" in malformed,
        )
    if "scan_result" in outputs:  # the inventory was collected: the SBOMs asked for are written too
        for kind in ("spdx", "cyclonedx"):
            if kind in formats:
                _write(out_dir / f"{name}-sbom.{kind}.json", _sbom(args.target, kind), False)
    if not scenario.get("leave_tmp"):
        _remove_scratch(scratch)
    print(f"scan finished with exit code {code}")
    if child is not None and not scenario.get("leave_child"):
        child.kill()
        child.wait()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
