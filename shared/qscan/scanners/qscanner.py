"""Run the Qualys `qscanner` CLI against one remote artifact and normalize what it wrote.

Security and robustness rules (DESIGN §4):
- argv is a list (no shell); the access token travels only in the child's `QUALYS_ACCESS_TOKEN` environment
  variable, never in argv (checked before every start), and is registered with `qscan.redact`.
- every scan gets a fresh directory under the work dir, `qscan-scan-*/` with `output/` (qscanner's
  `--output-dir`, so a warm process never rereads an old report) and `tmp/` (the child's `TMPDIR`, `TMP` and
  `TEMP`, and its working directory, so the layers qscanner unpacks never land in the shared temp dir). The
  whole directory is removed when the scan ends, also after a timeout kill and where the scanner left read-only
  directories; directories of scans whose process was killed outright (a Lambda timeout) are swept before a
  later scan once they are older than timeout + kill grace + `STALE_MARGIN_SECONDS`.
- the cache dir (`--cache-dir`) is bounded: before each scan the files modified longest ago are deleted until
  the cache takes at most `cache_max_bytes` (at most a quarter of its file system; 0 keeps nothing between
  scans; None leaves it unbounded), see `qscan.scanners.scratch`.
- the child leads its own process group; on timeout the whole group is terminated, then killed. The exit is
  noticed the moment it happens: a helper thread blocks in `wait()` while the caller joins it with the scan
  timeout (`Popen.wait(timeout=...)` sleep-polls, up to 50 ms late per scan).
- the exit code maps to a status through `exit_codes.classify`; the report files are parsed only when the code
  says they hold findings, and missing or malformed files make the scan `failed` with a reason.
- captured stdout/stderr are redacted and truncated before they reach the result.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from qscan.errors import ConfigError, InvalidEvent, InvalidReference
from qscan.redact import redact, register_secret, truncate
from qscan.results.model import RawOutput, ScanResult, utc_now
from qscan.scanners.exit_codes import classify
from qscan.scanners.sarif import SarifError, parse_sarif
from qscan.scanners.scratch import cache_cap, prune_cache, remove_tree, sweep_stale
from qscan.structs import field, struct
from qscan.target import ScanTarget

if TYPE_CHECKING:
    from qscan.config import Settings
    from qscan.secrets import QualysSecret

LOG = logging.getLogger(__name__)

BACKEND = "qscanner"
TOKEN_ENV = "QUALYS_ACCESS_TOKEN"  # noqa: S105 - a variable name, not a value
SCAN_RESULT_SUFFIX = "-ScanResult.json"
SARIF_SUFFIX = "-Report.sarif.json"
# Parent-process variables never handed to the scanner (it needs the access token only). Registry credentials
# reach it only per target (`target_env`, from `qscan.registry.credentials.qscanner_env`), never inherited: a
# blanket credential would go to every registry scanned.
REGISTRY_ENV = ("QSCANNER_REGISTRY_USERNAME", "QSCANNER_REGISTRY_PASSWORD", "QSCANNER_REGISTRY_TOKEN")
_WITHHELD_ENV = ("QUALYS_PASSWORD", "QUALYS_USERNAME", TOKEN_ENV, *REGISTRY_ENV)
_AWS_PROFILE_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")

Mode = Literal["get-report", "evaluate-policy"]
MODES: tuple[str, ...] = ("get-report", "evaluate-policy")

# Regular expressions as pattern strings, compiled on first use (re's cache), not at import.
_IMAGE_REF = r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,511}$"
_FUNCTION_ARN = (
    r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,140}(:[A-Za-z0-9_$-]{1,128})?$"
)
_SCAN_TYPE = r"^[a-z][a-z0-9_-]{0,31}$"
_POD = r"^[A-Za-z0-9_-]{1,16}$"
_TAG = r"^[A-Za-z0-9_.:/-]{1,128}$"
_TAG_VALUE = r"^[A-Za-z0-9_.:/@+=-]{0,256}$"
_SECRET_KEY = r"(?i)password|token|secret|credential|_key"  # noqa: S105 - a pattern of secret-looking names, not a secret
_LOG_EXTRA = 4096  # read a little more than kept so a secret cut at the read boundary is also cut away
MIB = 1024 * 1024
DEFAULT_CACHE_MAX_MB = 2048  # QSCAN_SCANNER_CACHE_MAX_MB's default: a fifth of the modules' 10 GB /tmp
SCAN_DIR_PREFIX = "qscan-scan-"
TMP_ENV = ("TMPDIR", "TMP", "TEMP")  # Go's os.TempDir reads TMPDIR; TMP/TEMP for the rest
STALE_MARGIN_SECONDS = 300.0
KILL_REAP_SECONDS = 10.0  # a SIGKILLed process is reaped at once unless it is stuck in the kernel


@struct
class QscannerOptions:
    """Everything the runner needs, given explicitly (no environment reading in here)."""

    executable: str
    pod: str
    access_token: str = field(repr=False)
    scan_types: tuple[str, ...] = ("os", "sca", "secret")
    sbom_format: str | None = (
        None  # "spdx" or "cyclonedx": qscanner also writes that SBOM (--format json,<f>)
    )
    timeout_seconds: float = 600.0
    mode: Mode = "get-report"
    policy_tags: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    work_dir: str | None = None  # parent of the per-scan dirs (default: the system temp dir, never swept)
    cache_dir: str | None = None
    cache_max_bytes: int | None = DEFAULT_CACHE_MAX_MB * MIB  # cap of cache_dir, pruned before each scan
    home_dir: str | None = None  # HOME for the child (read-only file systems: somewhere under /tmp)
    extra_env: Mapping[str, str] = field(default_factory=dict, repr=False)  # every scan (not registries')
    # Per-target environment, e.g. assumed-role AWS_* credentials for a cross-account image; computed when the
    # scan starts, given to that child process only, never logged. May raise TransientError / ConfigError.
    target_env: Callable[[ScanTarget], Mapping[str, str]] | None = field(default=None, repr=False)
    inherit_env: bool = True  # pass this process's environment on (AWS credential chain), less Qualys secrets
    skip_verify_tls: bool = False
    kill_grace_seconds: float = 3.0
    log_limit: int = 4000
    max_output_bytes: int = 64 * 1024 * 1024


def runner_for(
    settings: Settings,
    secret: QualysSecret,
    *,
    executable: str,
    base_dir: str,
    target_env: Callable[[ScanTarget], Mapping[str, str]],
) -> QscannerRunner:
    """A handler's runner: POD and token from the Qualys secret, scan types, timeout and cache cap from the
    settings, and `HOME`, the work and the cache directories under `base_dir` (a writable temp directory)."""
    if not secret.pod:
        raise ConfigError("the Qualys secret needs a pod (e.g. US2): qscanner takes a POD, not a gateway URL")
    return QscannerRunner(
        QscannerOptions(
            executable=executable,
            pod=secret.pod,
            access_token=secret.access_token or "",
            scan_types=settings.scan_types,
            sbom_format=None if settings.sbom_format == "off" else settings.sbom_format,
            timeout_seconds=float(settings.scan_timeout_seconds),
            work_dir=os.path.join(base_dir, "work"),
            cache_dir=os.path.join(base_dir, "cache"),
            cache_max_bytes=settings.scanner_cache_max_mb * MIB,
            home_dir=os.path.join(base_dir, "home"),
            target_env=target_env,
        )
    )


@struct
class _Run:
    """One finished (or timed-out) qscanner process."""

    returncode: int | None  # None: timed out
    stdout: str
    stderr: str
    pid: int


class QscannerRunner:
    """The `qscanner` backend. Create once (per cold start) and call `scan` per target."""

    name = BACKEND

    def __init__(self, options: QscannerOptions) -> None:
        self._opts = options
        self._cache_lock = threading.Lock()
        self._validate()
        register_secret(options.access_token)
        for key, value in options.extra_env.items():
            if re.search(_SECRET_KEY, key):
                register_secret(value)

    # ------------------------------------------------------------------ set-up
    def _validate(self) -> None:
        o = self._opts
        resolved = shutil.which(o.executable) if os.sep not in o.executable else o.executable
        if not resolved or not os.path.isfile(resolved) or not os.access(resolved, os.X_OK):
            raise ConfigError("QSCANNER_PATH does not name an executable file")
        self._executable = resolved
        if not o.access_token:
            raise ConfigError("a Qualys access token is required for qscanner")
        if not re.match(_POD, o.pod or ""):
            raise ConfigError("the Qualys POD for qscanner must be a short name such as US1")
        if not o.scan_types or not all(re.match(_SCAN_TYPE, t) for t in o.scan_types):
            raise ConfigError("scan types must be a non-empty list such as os,sca,secret")
        if not o.timeout_seconds > 0:
            raise ConfigError("the scan timeout must be positive")
        if o.mode not in MODES:
            raise ConfigError(f"qscanner mode must be one of {MODES}")
        if not all(re.match(_TAG, t) for t in o.policy_tags):
            raise ConfigError("policy tags must be short names")
        for key, value in o.tags.items():
            if not re.match(_TAG, key) or not re.match(_TAG_VALUE, value):
                raise ConfigError("scan tags must be key=value pairs of safe characters")
        for path in (o.work_dir, o.cache_dir, o.home_dir):
            if path is not None and not os.path.isabs(path):
                raise ConfigError("scanner work, cache and home directories must be absolute paths")
        if o.cache_max_bytes is not None and (isinstance(o.cache_max_bytes, bool) or o.cache_max_bytes < 0):
            raise ConfigError("the scanner cache cap must be a number of bytes, 0 or more")

    # ------------------------------------------------------------------ argv / env
    def command_for(self, target: ScanTarget) -> list[str]:
        """The subcommand and its argument: `image <ref>` or `lambda <arn>` (validated)."""
        if target.kind == "function":
            arn = target.function_arn or ""
            if not re.match(_FUNCTION_ARN, arn):
                raise InvalidEvent("the function target has no valid Lambda function ARN")
            return ["lambda", arn]
        ref = image_reference(target)
        return ["image", ref]

    def build_argv(self, target: ScanTarget, output_dir: str) -> list[str]:
        o = self._opts
        argv = [
            self._executable,
            "--pod",
            o.pod,
            "--scan-types",
            ",".join(o.scan_types),
            "--output-dir",
            output_dir,
            "--format",
            f"json,{o.sbom_format}" if o.sbom_format else "json",
            "--report-format",
            "sarif",
            "--mode",
            o.mode,
        ]
        if o.cache_dir:
            argv += ["--cache-dir", o.cache_dir]
        if o.policy_tags:
            argv += ["--policy-tags", ",".join(o.policy_tags)]
        for key, value in sorted(o.tags.items()):
            argv += ["--tag", f"{key}={value}"]
        if o.skip_verify_tls:
            argv.append("--skip-verify-tls")
        argv += self.command_for(target)
        if any(o.access_token in arg for arg in argv):
            raise ConfigError("refusing to start qscanner: the access token would appear in argv")
        return argv

    def build_env(self, target: ScanTarget | None = None, tmp_dir: str | None = None) -> dict[str, str]:
        """The child's environment; `tmp_dir` becomes its TMPDIR, TMP and TEMP."""
        o = self._opts
        env = dict(os.environ) if o.inherit_env else {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for key in _WITHHELD_ENV:
            env.pop(key, None)
        env.update(o.extra_env)
        if target is not None and o.target_env is not None:
            scoped = dict(o.target_env(target))
            for key, value in scoped.items():
                if re.search(_SECRET_KEY, key):
                    register_secret(value)
            if "AWS_ACCESS_KEY_ID" in scoped:  # explicit keys: no profile may take precedence over them
                for key in _AWS_PROFILE_ENV:
                    env.pop(key, None)
            env.update(scoped)
        env[TOKEN_ENV] = o.access_token
        if o.home_dir:
            env["HOME"] = o.home_dir
        if tmp_dir is not None:
            env.update(dict.fromkeys(TMP_ENV, tmp_dir))
        return env

    # ------------------------------------------------------------------ scan
    def scan(self, target: ScanTarget) -> ScanResult:
        o = self._opts
        result = ScanResult(target=target, backend=BACKEND, status="failed")
        started = time.monotonic()
        for path in (o.cache_dir, o.home_dir, o.work_dir):
            if path:
                os.makedirs(path, mode=0o700, exist_ok=True)
        self._tidy()
        scan_dir = tempfile.mkdtemp(prefix=SCAN_DIR_PREFIX, dir=o.work_dir)
        try:
            output_dir, tmp_dir = os.path.join(scan_dir, "output"), os.path.join(scan_dir, "tmp")
            os.mkdir(output_dir, 0o700)
            os.mkdir(tmp_dir, 0o700)
            argv = self.build_argv(target, output_dir)
            result.metadata.update({"scan_types": list(o.scan_types), "mode": o.mode})
            LOG.info("qscanner start: %s", redact(" ".join(argv[-2:])))
            try:
                run = self._execute(argv, self.build_env(target, tmp_dir), tmp_dir)
            except OSError as exc:
                result.reason = f"cannot start qscanner: {type(exc).__name__}"
                return result
            result.logs = {"stdout": run.stdout, "stderr": run.stderr}
            self._interpret(result, run, Path(output_dir))
        finally:
            remove_tree(scan_dir)
            result.finished_at = utc_now()
            result.duration_seconds = round(time.monotonic() - started, 3)
        LOG.info(
            "qscanner done: status=%s exit=%s findings=%d",
            result.status,
            result.exit_code_name,
            len(result.findings),
        )
        return result

    def _tidy(self) -> None:
        """Before a scan: sweep killed scans' directories, bring the cache under its cap."""
        o = self._opts
        if o.work_dir:
            stale_after = o.timeout_seconds + o.kill_grace_seconds + STALE_MARGIN_SECONDS
            swept = sweep_stale(o.work_dir, SCAN_DIR_PREFIX, stale_after)
            if swept:
                LOG.warning("removed %d scan directories left by killed scans", swept)
        if o.cache_dir and o.cache_max_bytes is not None:
            with self._cache_lock:
                pruned = prune_cache(o.cache_dir, cache_cap(o.cache_dir, o.cache_max_bytes))
            if pruned.files_removed:
                LOG.info(
                    "qscanner cache pruned: %d files, %d bytes freed, %d kept",
                    pruned.files_removed,
                    pruned.bytes_freed,
                    pruned.bytes_kept,
                    extra={"cache_bytes": pruned.bytes_kept},
                )

    def _execute(self, argv: Sequence[str], env: dict[str, str], cwd: str) -> _Run:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(  # noqa: S603 - fixed executable, validated argv, no shell
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                cwd=cwd,
                start_new_session=True,  # own process group: a timeout kills qscanner and its children
                close_fds=True,
            )
            # A blocking wait() in a helper thread returns the moment the child exits; joining it bounds the
            # scan without the sleep-polling of Popen.wait(timeout=...).
            waiter = threading.Thread(target=proc.wait, name=f"qscanner-wait-{proc.pid}", daemon=True)
            waiter.start()
            waiter.join(self._opts.timeout_seconds)
            returncode: int | None
            if waiter.is_alive():
                self._kill_group(proc.pid, waiter)
                returncode = None
            else:
                _signal_group(proc.pid, signal.SIGKILL)  # reap helpers the scanner left behind
                returncode = proc.wait()  # already reaped by the waiter: returns at once
            return _Run(returncode, self._tail(out), self._tail(err), proc.pid)

    def _kill_group(self, pid: int, waiter: threading.Thread) -> None:
        _signal_group(pid, signal.SIGTERM)
        waiter.join(self._opts.kill_grace_seconds)
        _signal_group(pid, signal.SIGKILL)
        waiter.join(KILL_REAP_SECONDS)
        if waiter.is_alive():
            LOG.error("qscanner (pid %d) has not exited %gs after SIGKILL", pid, KILL_REAP_SECONDS)

    def _tail(self, stream: IO[bytes]) -> str:
        limit = self._opts.log_limit
        size = stream.seek(0, os.SEEK_END)
        stream.seek(max(0, size - limit - _LOG_EXTRA))
        text = stream.read().decode("utf-8", errors="replace")
        return truncate(redact(text), limit) if size <= limit + _LOG_EXTRA else _cut(redact(text), limit)

    # ------------------------------------------------------------------ outputs
    def _interpret(self, result: ScanResult, run: _Run, output_dir: Path) -> None:
        o = self._opts
        if run.returncode is None:
            result.status = "timeout"
            result.exit_code_name = "TIMEOUT"
            result.reason = f"qscanner exceeded {o.timeout_seconds:g}s; its process group was killed"
            return
        code = classify(run.returncode)
        result.exit_code, result.exit_code_name = code.code, code.name
        result.status = code.status
        result.reason = None if code.status == "success" else f"{code.name}: {code.description}"
        scan_result_file = _single(output_dir, SCAN_RESULT_SUFFIX)
        sarif_file = _single(output_dir, SARIF_SUFFIX)
        raws: list[RawOutput] = []
        problems: list[str] = []
        sarif_body = self._read(sarif_file, problems, "SARIF report")
        scan_body = self._read(scan_result_file, problems, "ScanResult.json")
        if sarif_body is not None and sarif_file is not None:
            raws.append(RawOutput(sarif_file.name, "application/sarif+json", sarif_body))
        if scan_body is not None and scan_result_file is not None:
            raws.append(RawOutput(scan_result_file.name, "application/json", scan_body))
            try:
                result.metadata.update(scan_result_metadata(scan_body))
            except ValueError as exc:
                problems.append(str(exc))
        if sarif_body is not None and code.status != "failed":  # a failed scan's report is not trusted
            try:
                result.with_findings(parse_sarif(sarif_body))
            except SarifError as exc:
                problems.append(str(exc))
        if o.sbom_format:
            sbom = _sbom(output_dir, o.max_output_bytes)
            if sbom is not None:
                raws.append(sbom)
        result.raw_outputs = tuple(raws)
        if code.findings_expected and problems:
            result.status = "failed"
            result.with_findings(())
            result.reason = f"{code.name} but unusable output: " + "; ".join(problems)
        elif problems and result.reason and code.status == "partial":
            result.reason += " (" + "; ".join(problems) + ")"

    def _read(self, path: Path | None, problems: list[str], label: str) -> bytes | None:
        if path is None:
            problems.append(f"{label} missing")
            return None
        try:
            if path.stat().st_size > self._opts.max_output_bytes:
                problems.append(f"{label} larger than {self._opts.max_output_bytes} bytes")
                return None
            return path.read_bytes()
        except OSError as exc:
            problems.append(f"{label} unreadable ({type(exc).__name__})")
            return None


def image_reference(target: ScanTarget) -> str:
    """The reference qscanner pulls: `registry/repository@digest` when known (immutable), else `image`."""
    if target.kind != "image":
        raise InvalidEvent("not an image target")
    if target.registry and target.repository and target.digest:
        ref = f"{target.registry}/{target.repository}@{target.digest}"
    elif target.image:
        ref = target.image
    else:
        raise InvalidReference("the image target has no reference to scan")
    if not re.match(_IMAGE_REF, ref) or ".." in ref or "//" in ref:
        raise InvalidReference("the image reference has characters qscanner cannot take safely")
    return ref


def scan_result_metadata(body: bytes) -> dict[str, Any]:
    """Pick the target metadata out of qscanner's raw `*-ScanResult.json` (bounded, JSON-safe)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("ScanResult.json is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError("ScanResult.json top level is not an object")
    meta = data.get("Metadata")
    if not isinstance(meta, dict):
        raise ValueError("ScanResult.json has no Metadata object")
    out: dict[str, Any] = {}
    target = meta.get("TargetMetadata")
    if isinstance(target, dict):
        out["target_metadata"] = _bounded(target)
    scanner = {k: v for k, v in meta.items() if k != "TargetMetadata" and _is_scalar(v)}
    if scanner:
        out["scanner_metadata"] = _bounded(scanner)
    return out


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _bounded(value: Any, depth: int = 0) -> Any:
    """A copy with at most 4 levels, 50 keys/items per level and 500-character strings."""
    if isinstance(value, str):
        return value[:500]
    if _is_scalar(value):
        return value
    if depth >= 4:
        return None
    if isinstance(value, dict):
        return {str(k)[:100]: _bounded(v, depth + 1) for k, v in list(value.items())[:50]}
    if isinstance(value, list):
        return [_bounded(v, depth + 1) for v in value[:50]]
    return None


def _sbom(output_dir: Path, max_bytes: int) -> RawOutput | None:
    """The SBOM qscanner wrote into the output dir, found by its content (its file name is not documented): an
    SPDX JSON document (`spdxVersion`) or a CycloneDX one (`bomFormat` "CycloneDX"); None when there is none."""
    for path in sorted(output_dir.iterdir()):
        if path.name.endswith((SCAN_RESULT_SUFFIX, SARIF_SUFFIX)) or not path.is_file() or path.is_symlink():
            continue
        if path.stat().st_size > max_bytes:
            continue
        body = path.read_bytes()
        try:
            document = json.loads(body)
        except ValueError:
            continue
        if not isinstance(document, dict):
            continue
        if isinstance(document.get("spdxVersion"), str):
            return RawOutput(path.name, "application/spdx+json", body)
        if document.get("bomFormat") == "CycloneDX":
            return RawOutput(path.name, "application/vnd.cyclonedx+json", body)
    return None


def _single(output_dir: Path, suffix: str) -> Path | None:
    matches = sorted(p for p in output_dir.rglob(f"*{suffix}") if p.is_file())
    return matches[0] if matches else None


def _cut(text: str, limit: int) -> str:
    return "[truncated]..." + text[-limit:] if len(text) > limit else "[truncated]..." + text


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
