"""Azurite (the Azure Storage emulator, npm package `azurite`) for tests and benchmarks.

`azurite_running()` starts `node_modules/.bin/azurite` from the repository root on 127.0.0.1 with port 0 for
blob, queue and table (the kernel picks free ports; Azurite prints the ports it bound, which are parsed from
its output, so there is no pick-then-bind race), in-memory persistence, `--skipApiVersionCheck --loose
--silent --disableTelemetry`, waits until all three services listen, and stops the process group on exit,
also on failure. `stop()` waits for the process to be gone.

The account is Azurite's well-known development account `devstoreaccount1` with its published key (a public
constant of the emulator, not a secret).
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

REPO_ROOT = Path(__file__).resolve().parents[2]
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite"
HOST = "127.0.0.1"
ACCOUNT = "devstoreaccount1"
# Azurite's documented development key (the same for every Azurite installation).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
SERVICES = ("blob", "queue", "table")
_LISTENING = re.compile(r"Azurite (Blob|Queue|Table) service is successfully listening at http://[^:]+:(\d+)")


class AzuriteError(RuntimeError):
    pass


@dataclass
class Azurite:
    """A running Azurite: ports, connection string and SDK client helpers."""

    process: subprocess.Popen[bytes]
    ports: dict[str, int]
    workdir: Path
    _stopped: bool = field(default=False, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def endpoint(self, service: str) -> str:
        return f"http://{HOST}:{self.ports[service]}/{ACCOUNT}"

    @property
    def blob_endpoint(self) -> str:
        return self.endpoint("blob")

    @property
    def queue_endpoint(self) -> str:
        return self.endpoint("queue")

    @property
    def table_endpoint(self) -> str:
        return self.endpoint("table")

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_endpoint};QueueEndpoint={self.queue_endpoint};"
            f"TableEndpoint={self.table_endpoint};"
        )

    def blob_service(self, **kwargs: Any) -> BlobServiceClient:
        return BlobServiceClient.from_connection_string(self.connection_string, **kwargs)

    def queue_service(self, **kwargs: Any) -> QueueServiceClient:
        return QueueServiceClient.from_connection_string(self.connection_string, **kwargs)

    def table_service(self, **kwargs: Any) -> TableServiceClient:
        return TableServiceClient.from_connection_string(self.connection_string, **kwargs)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate Azurite's process group, then kill it if it does not exit in time; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        _stop_group(self.process, timeout)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _stop_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # our own session: Azurite and nothing else
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)
    # Reap anything Azurite may have left in its group (it starts no children today; be sure).
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def start_azurite(timeout: float = 30.0) -> Azurite:
    """Start Azurite and wait until blob, queue and table accept connections; raises AzuriteError."""
    if not AZURITE_BIN.exists():
        raise AzuriteError(f"{AZURITE_BIN.relative_to(REPO_ROOT)} is missing: run `make bootstrap` (npm ci)")
    workdir = Path(tempfile.mkdtemp(prefix="qscan-azurite-"))
    log_path = workdir / "azurite.log"
    args = [str(AZURITE_BIN), "--inMemoryPersistence", "--extentMemoryLimit", "256"]
    for service in SERVICES:
        args += [f"--{service}Host", HOST, f"--{service}Port", "0"]
    args += ["--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            start_new_session=True,
        )
    azurite = Azurite(process=process, ports={}, workdir=workdir)
    atexit.register(azurite.stop)
    try:
        azurite.ports = _wait_for_ports(process, log_path, timeout)
        for service in SERVICES:
            _wait_for_connect(azurite.ports[service], timeout)
    except BaseException:
        azurite.stop()
        raise
    return azurite


def _wait_for_ports(process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        text = log_path.read_text(errors="replace")
        ports = {name.lower(): int(port) for name, port in _LISTENING.findall(text)}
        if all(service in ports for service in SERVICES):
            return ports
        if process.poll() is not None:
            raise AzuriteError(f"azurite exited with {process.returncode}: {text[-2000:]}")
        if time.monotonic() > deadline:
            raise AzuriteError(f"azurite did not listen within {timeout:.0f}s: {text[-2000:]}")
        time.sleep(0.05)


def _wait_for_connect(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=1.0):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AzuriteError(f"azurite port {port} does not accept connections") from None
            time.sleep(0.05)


@contextmanager
def azurite_running(timeout: float = 30.0) -> Iterator[Azurite]:
    azurite = start_azurite(timeout)
    try:
        yield azurite
    finally:
        azurite.stop()


def process_gone(pid: int) -> bool:
    """True when no process with `pid` exists any more (or it is a zombie of another parent)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    status = Path(f"/proc/{pid}/stat")
    with suppress(OSError):
        return status.read_text().split(") ", 1)[1].startswith("Z")
    return False
