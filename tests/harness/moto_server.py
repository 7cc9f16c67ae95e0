"""A shimmed moto server in its own process, for pytest, `make demo` and Terraform roots.

* `serve()` runs inside the server process: it applies `tests.harness.moto_shims`, binds 127.0.0.1 on a
  free port (port 0, so there is no pick-then-bind race), writes the endpoint to a ready file and serves
  until SIGTERM/SIGINT.
* `start_server()` / `stop_server()` / `running_moto_server()` drive that process from the outside
  (pytest fixture, `python -m tests.harness.moto_cli`); the server is always stopped, also on failure.
* `boto3_client()` and `write_provider_override()` bind boto3 clients and Terraform roots to an endpoint.

Besides moto's own API the server answers two project routes:
``GET /_qscan/health`` (readiness + installed shims) and ``GET /_qscan/eventbridge/deliveries`` (events
routed to Lambda / Step Functions targets, which moto cannot invoke: recorded, and a state machine target's
execution started by the shim; cleared by ``POST /moto-api/reset``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

LOG = logging.getLogger("qscan.tests.moto_server")

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
FAKE_ACCESS_KEY = "testing"  # fake credentials: moto accepts anything
FAKE_SECRET_KEY = "testing"
HEALTH_PATH = "/_qscan/health"
DELIVERIES_PATH = "/_qscan/eventbridge/deliveries"
RUNNERS_PATH = "/_qscan/lambda/runners"
SERVE_MARKER = "tests.harness.moto_cli"
PID_FILE, ENDPOINT_FILE, LOG_FILE = "moto.pid", "moto.endpoint", "moto.log"

# Terraform `endpoints {}` keys (hashicorp/aws 5.x) for every service the project's AWS code uses.
DEFAULT_TF_SERVICES: tuple[str, ...] = (
    "cloudtrail",
    "cloudwatch",
    "dynamodb",
    "ecr",
    "ecs",
    "events",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "scheduler",
    "secretsmanager",
    "sfn",
    "sns",
    "sqs",
    "ssm",
    "sts",
)
PROVIDER_OVERRIDE_FILE = "moto_provider_override.tf"


# ---------------------------------------------------------------------------------------------------------
# Inside the server process
# ---------------------------------------------------------------------------------------------------------


def _project_routes(app: Callable[..., Any]) -> Callable[..., Any]:
    """WSGI middleware: the two /_qscan routes, and reset of the shim state alongside moto's reset."""
    from tests.harness import moto_shims  # noqa: PLC0415 - imports moto: server process only

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path in (HEALTH_PATH, DELIVERIES_PATH) and method == "GET":
            import moto  # noqa: PLC0415 - server process only

            payload: Any = (
                {
                    "status": "ok",
                    "moto": moto.__version__,
                    "shims": moto_shims.applied_shims(),
                    "pid": os.getpid(),
                }
                if path == HEALTH_PATH
                else {"deliveries": moto_shims.DELIVERIES.snapshot()}
            )
            body = json.dumps(payload).encode()
            start_response(
                "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            )
            return [body]
        if path == RUNNERS_PATH and method == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                body = json.loads(environ["wsgi.input"].read(size) or b"{}")
                moto_shims.register_runner(str(body.get("function_name", "")), str(body.get("url", "")))
            except (ValueError, AttributeError) as exc:
                answer, status = json.dumps({"error": str(exc)}).encode(), "400 Bad Request"
            else:
                answer, status = b"{}", "200 OK"
            start_response(
                status, [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))]
            )
            return [answer]
        if path == "/moto-api/reset" and method == "POST":
            moto_shims.DELIVERIES.clear()
            moto_shims.clear_runners()
        return app(environ, start_response)

    return wsgi


def serve(port: int = 0, ready_file: Path | None = None, skip_shims: Sequence[str] = ()) -> None:
    """Run the shimmed moto server in this process until SIGTERM/SIGINT (the server-process entry)."""
    # Lazy imports: moto and werkzeug are heavy and only needed in the server process.
    from moto.moto_server.werkzeug_app import (  # noqa: PLC0415
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server  # noqa: PLC0415

    from tests.harness import moto_shims  # noqa: PLC0415

    if "all" in skip_shims:
        skip_shims = moto_shims.SHIM_NAMES
    moto_shims.apply_shims(skip=skip_shims)

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request access log
    app = _project_routes(DomainDispatcherApplication(create_backend_app))
    server = make_server(HOST, port, app, threaded=True, request_handler=MotoRequestHandler)
    endpoint = f"http://{HOST}:{server.server_address[1]}"
    # moto's Step Functions interpreter calls Lambda (and other services) at localhost:$MOTO_PORT.
    os.environ["MOTO_PORT"] = str(server.server_address[1])
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    worker.start()
    if ready_file is not None:
        tmp = ready_file.with_name(ready_file.name + ".tmp")
        tmp.write_text(endpoint + "\n", encoding="utf-8")
        tmp.replace(ready_file)  # atomic: readers never see a half-written endpoint
    shim_names = ", ".join(moto_shims.applied_shims()) or "none"
    print(f"moto server {endpoint} (pid {os.getpid()}, shims: {shim_names})")
    sys.stdout.flush()
    try:
        while not stop.wait(0.5):
            if not worker.is_alive():
                raise RuntimeError("moto server thread died")
    finally:
        server.shutdown()
        server.server_close()
        worker.join(timeout=10)
        if ready_file is not None:
            ready_file.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------------------
# Outside: start, probe, reset, stop
# ---------------------------------------------------------------------------------------------------------


def _get_json(url: str, timeout: float = 2.0, method: str = "GET") -> Any:
    if not url.startswith(f"http://{HOST}:"):
        raise ValueError(f"refusing non-loopback moto URL: {url!r}")
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")


def health(endpoint: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """The server's /_qscan/health payload, or None when nothing healthy answers."""
    try:
        payload = _get_json(endpoint + HEALTH_PATH, timeout)
    except (OSError, ValueError):
        return None
    return payload if isinstance(payload, dict) and payload.get("status") == "ok" else None


def finished_execution(sfn: Any, arn: str, limit: float = 60.0) -> dict[str, Any]:
    """DescribeExecution once the Step Functions execution `arn` has ended (AssertionError after `limit` s)."""
    deadline = time.monotonic() + limit
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > deadline:
            raise AssertionError(f"execution {arn} still {described['status']} after {limit:.0f} s")
        time.sleep(0.1)


@dataclass
class MotoServer:
    """A running moto server process (what the `moto_server` fixture yields)."""

    endpoint: str
    pid: int
    state_dir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])

    @property
    def log_path(self) -> Path:
        return self.state_dir / LOG_FILE

    def reset(self) -> None:
        """Drop every moto resource and recorded delivery (POST /moto-api/reset)."""
        _get_json(self.endpoint + "/moto-api/reset", timeout=10, method="POST")

    def register_runner(self, function_name: str, url: str) -> None:
        """Send this function's Invoke calls to a `tests.harness.lambda_runner` runner (see moto_shims)."""
        data = json.dumps({"function_name": function_name, "url": url}).encode()
        req = urllib.request.Request(self.endpoint + RUNNERS_PATH, data=data, method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:
            resp.read()

    def deliveries(self) -> list[dict[str, Any]]:
        """Events routed to Lambda / Step Functions targets since the last reset (a state machine target's
        record has the `execution_arn` the shim started, or its `execution_error`)."""
        return list(_get_json(self.endpoint + DELIVERIES_PATH)["deliveries"])

    def client(self, service: str, region: str = REGION) -> Any:
        return boto3_client(service, self.endpoint, region)

    def is_running(self) -> bool:
        return _pid_is_our_server(self.pid)


def _pid_is_our_server(pid: int) -> bool:
    """True if `pid` is alive and (where /proc exists) really is a `moto_cli serve` process.

    Never true for pid <= 1: os.kill(-1, ...) would signal every process we may signal, and 0 our group.
    """
    if pid <= 1:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    if Path("/proc/self/cmdline").exists():
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return SERVE_MARKER.encode() in args and b"serve" in args  # a zombie has an empty cmdline
    try:  # no /proc (macOS): ask ps
        out = subprocess.run(
            ["ps", "-p", str(pid), "-o", "command="],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return SERVE_MARKER in out and " serve" in out


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_server(
    state_dir: Path, timeout: float = 60.0, skip_shims: Sequence[str] = (), detach: bool = False
) -> MotoServer:
    """Start `moto_cli serve` in a new process; return once /_qscan/health answers.

    The process writes its endpoint to ``state_dir/moto.endpoint`` and its output to ``state_dir/moto.log``;
    ``moto.pid`` is written here. On any failure the process is stopped and RuntimeError carries the log tail.
    `detach` puts the server in its own session (the CLI's `start`), so a Ctrl-C in the caller's terminal
    reaches the caller's cleanup trap, which then stops the server via the pid file.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    ready = state_dir / ENDPOINT_FILE
    ready.unlink(missing_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONUNBUFFERED"] = "1"
    cmd = [sys.executable, "-m", SERVE_MARKER, "serve", "--port", "0", "--ready-file", str(ready)]
    for name in skip_shims:
        cmd += ["--skip-shim", name]
    with (state_dir / LOG_FILE).open("ab") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=detach,
        )
    (state_dir / PID_FILE).write_text(f"{proc.pid}\n", encoding="utf-8")
    server = MotoServer(endpoint="", pid=proc.pid, state_dir=state_dir, process=proc)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"moto server exited with {proc.returncode}:\n{_tail(state_dir / LOG_FILE)}"
                )
            if ready.exists():
                server.endpoint = ready.read_text(encoding="utf-8").strip()
                info = health(server.endpoint)
                if info is not None and info.get("pid") == proc.pid:
                    LOG.info("moto server ready at %s (pid %s)", server.endpoint, proc.pid)
                    return server
            time.sleep(0.05)
        raise RuntimeError(f"moto server not ready after {timeout:.0f}s:\n{_tail(state_dir / LOG_FILE)}")
    except BaseException:
        stop_server(server)
        raise


def stop_server(server: MotoServer, timeout: float = 10.0) -> None:
    """SIGTERM, wait, SIGKILL if needed; idempotent. Removes the pid and endpoint files."""
    proc = server.process
    if proc is not None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
    elif _pid_is_our_server(server.pid):
        stop_pid(server.pid, timeout)
    for name in (PID_FILE, ENDPOINT_FILE):
        (server.state_dir / name).unlink(missing_ok=True)


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    """Stop a server we did not spawn in this process (the CLI's `stop`): only a verified `serve` pid."""
    if pid <= 1 or not _pid_is_our_server(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_is_our_server(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def server_from_state_dir(state_dir: Path) -> MotoServer | None:
    """The server recorded in `state_dir` if it is alive and healthy, else None."""
    try:
        pid = int((state_dir / PID_FILE).read_text(encoding="utf-8").strip())
        endpoint = (state_dir / ENDPOINT_FILE).read_text(encoding="utf-8").strip()
    except (OSError, ValueError):
        return None
    server = MotoServer(endpoint=endpoint, pid=pid, state_dir=state_dir)
    info = health(endpoint)
    if not server.is_running() or info is None or info.get("pid") != pid:
        return None
    return server


@contextlib.contextmanager
def running_moto_server(
    state_dir: Path, timeout: float = 60.0, skip_shims: Sequence[str] = ()
) -> Iterator[MotoServer]:
    """Start a server for the `with` body and always stop it afterwards, whatever the body raised."""
    server = start_server(state_dir, timeout=timeout, skip_shims=skip_shims)
    try:
        yield server
    finally:
        stop_server(server)


def moto_server_fixture(state_dir: Path) -> Iterator[MotoServer]:
    """Body of the session-scoped `moto_server` pytest fixture (registered in tests/conftest.py)."""
    with running_moto_server(state_dir) as server:
        yield server


# ---------------------------------------------------------------------------------------------------------
# Clients and Terraform wiring
# ---------------------------------------------------------------------------------------------------------


def boto3_client(service: str, endpoint: str, region: str = REGION) -> Any:
    """A boto3 client bound to the moto endpoint with fake credentials and few retries."""
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=FAKE_ACCESS_KEY,
        aws_secret_access_key=FAKE_SECRET_KEY,
        config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=60),
    )


def render_provider_override(
    endpoint: str,
    services: Iterable[str] = DEFAULT_TF_SERVICES,
    region: str = REGION,
    assume_role_account: str | None = None,
) -> str:
    """HCL for a `provider "aws"` override that points every listed service at moto.

    It is an override file: the root must declare its own `provider "aws" {}` block (possibly empty);
    Terraform merges these arguments into it and this `endpoints` block replaces any in the root.
    `assume_role_account` (12 digits) makes the provider assume a role in that account first: moto's STS
    binds the keys it returns to that account, so the root's resources are created there (several accounts on
    one server; never MOTO_ACCOUNT_ID).
    """
    if assume_role_account is not None and not (
        len(assume_role_account) == 12 and assume_role_account.isdigit()
    ):
        raise ValueError(f"assume_role_account must be a 12-digit account id, got {assume_role_account!r}")
    assume_role = (
        ""
        if assume_role_account is None
        else "\n  assume_role {\n"
        f'    role_arn = "arn:aws:iam::{assume_role_account}:role/OrganizationAccountAccessRole"\n'
        "  }\n"
    )
    if not endpoint.startswith(f"http://{HOST}:") or not endpoint.rsplit(":", 1)[1].isdigit():
        raise ValueError(f"moto endpoint must be http://{HOST}:<port>, got {endpoint!r}")
    names = sorted(set(services))
    bad = [s for s in names if not s.isidentifier() or not s.islower()]
    if bad or not names:
        raise ValueError(f"invalid Terraform endpoint service names: {bad or 'none given'}")
    width = max(len(s) for s in names)
    lines = "\n".join(f'    {s.ljust(width)} = "{endpoint}"' for s in names)
    return (
        "# Generated by tests/harness/moto_server.py: points the AWS provider at a local moto server.\n"
        "# Fake credentials only; do not commit.\n"
        'provider "aws" {\n'
        f'  region                      = "{region}"\n'
        f'  access_key                  = "{FAKE_ACCESS_KEY}"\n'
        f'  secret_key                  = "{FAKE_SECRET_KEY}"\n'
        "  max_retries                 = 2\n"
        "  skip_credentials_validation = true\n"
        "  skip_metadata_api_check     = true\n"
        "  skip_requesting_account_id  = true\n"
        "  skip_region_validation      = true\n"
        "  s3_use_path_style           = true\n"
        "\n"
        "  endpoints {\n"
        f"{lines}\n"
        "  }\n"
        f"{assume_role}"
        "}\n"
    )


def write_provider_override(
    root: Path,
    endpoint: str,
    services: Sequence[str] = DEFAULT_TF_SERVICES,
    region: str = REGION,
    filename: str = PROVIDER_OVERRIDE_FILE,
    assume_role_account: str | None = None,
) -> Path:
    """Write the moto provider override into a Terraform root dir; returns the file path."""
    if not filename.endswith("_override.tf") or "/" in filename:
        raise ValueError(f"override file name must be a plain *_override.tf name, got {filename!r}")
    if not root.is_dir():
        raise ValueError(f"not a directory: {root}")
    path = root / filename
    path.write_text(
        render_provider_override(endpoint, services, region, assume_role_account), encoding="utf-8"
    )
    return path


def terraform_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for running terraform in tests and the demo: `scripts.tf_validate.terraform_env`."""
    from scripts.tf_validate import terraform_env as repo_terraform_env  # noqa: PLC0415 - not in the server

    return repo_terraform_env(REPO_ROOT, extra)
